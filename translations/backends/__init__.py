"""The machine-translation engines behind :class:`translations.engine.Engine`.

Each module imports its heavy library lazily (argostranslate) or only talks to
processes and servers (apertium, libretranslate), so choosing one backend never
loads the others.
"""
