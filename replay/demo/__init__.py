"""The bundled demo shop, the default target of a load test.

`replay.demo.app` holds the application (`create_app`, `serve`); this module stays empty so that
`python -m replay.demo` can monkey-patch with gevent before Flask is imported.
"""
