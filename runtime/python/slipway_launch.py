"""Serve a Python web application for Slipway on 127.0.0.1:PORT.

Usage: python slipway_launch.py MODE ENTRYPOINT PORT

MODE is wsgi or asgi. ENTRYPOINT is "module:object" or "module" (object "app", then
"application"), as rsconnect writes it in manifest.json. The content folder is the working
directory. The URL prefix Slipway serves the content under arrives in SLIPWAY_ROOT_PATH so
the application can build its own links.
"""

import importlib
import os
import sys


def load(entrypoint):
    module_name, _, attribute = entrypoint.partition(":")
    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    for name in [attribute] if attribute else ["app", "application"]:
        target = module
        for part in name.split("."):
            target = getattr(target, part, None)
            if target is None:
                break
        if target is not None:
            return target
    sys.exit(f"slipway: {entrypoint} names no application object (tried app, application)")


def serve_wsgi(app, port, root_path):
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Handler(WSGIRequestHandler):
        def log_message(self, format, *args):
            sys.stderr.write("%s\n" % (format % args))

    def prefixed(environ, start_response):
        environ["SCRIPT_NAME"] = root_path
        return app(environ, start_response)

    server = make_server("127.0.0.1", port, prefixed, server_class=Server, handler_class=Handler)
    print(f"slipway: serving WSGI {app!r} on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


def serve_asgi(app, port, root_path):
    import uvicorn

    print(f"slipway: serving ASGI {app!r} on 127.0.0.1:{port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, root_path=root_path, log_level="info")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("wsgi", "asgi"):
        sys.exit("usage: slipway_launch.py wsgi|asgi ENTRYPOINT PORT")
    mode, entrypoint, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    root_path = os.environ.get("SLIPWAY_ROOT_PATH", "")
    app = load(entrypoint)
    # Dash and similar frameworks wrap a Flask application they keep in `server`.
    if mode == "wsgi" and not callable(app) and hasattr(app, "server"):
        app = app.server
    if mode == "asgi":
        serve_asgi(app, port, root_path)
    else:
        serve_wsgi(app, port, root_path)


if __name__ == "__main__":
    main()
