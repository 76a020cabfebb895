"""Serve a Python web application for Slipway at $SLIPWAY_HOST:$SLIPWAY_PORT_HTTP.

Usage: python slipway_launch.py MODE ENTRYPOINT

MODE is wsgi, asgi or streamlit. ENTRYPOINT is "module:object" or "module" (object "app",
then "application"), as rsconnect writes it in manifest.json, or the script for streamlit.
The content folder is the working directory. The URL prefix Slipway serves the content under
arrives in SLIPWAY_ROOT_PATH so the application can build its own links.

WSGI applications are served by a production server: gunicorn (threaded workers) when the
content's environment has it, otherwise waitress from the environment or from Slipway's
runtime folder (the content-init image carries a copy); only when neither is there, by the
standard library's server, with a warning, so that content still runs.
"""

import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


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


def prefixed(app, root_path):
    def serve(environ, start_response):
        environ["SCRIPT_NAME"] = root_path
        return app(environ, start_response)

    return serve


def gunicorn_base():
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        return None
    return BaseApplication


def waitress_serve():
    try:
        from waitress import serve
    except ImportError:
        sys.path.append(os.path.join(HERE, "vendor"))
        try:
            from waitress import serve
        except ImportError:
            return None
    return serve


def serve_wsgi(app, host, port, root_path):
    app = prefixed(app, root_path)
    # More threads than this contend for the GIL: 16 served a hello-world app at 0.6x of
    # gunicorn's own sync worker, 4 at 0.88x (bench/launcher.ts); Slipway adds processes instead.
    threads = int(os.environ.get("SLIPWAY_PYTHON_THREADS", "4"))
    base = gunicorn_base()
    if base is not None:

        class Server(base):
            def load_config(self):
                self.cfg.set("bind", f"{host}:{port}")
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("workers", 1)
                self.cfg.set("threads", threads)
                self.cfg.set("keepalive", 75)
                self.cfg.set("errorlog", "-")

            def load(self):
                return app

        print(f"slipway: serving WSGI with gunicorn on {host}:{port}", flush=True)
        Server().run()
        return
    serve = waitress_serve()
    if serve is not None:
        print(f"slipway: serving WSGI with waitress on {host}:{port}", flush=True)
        serve(app, host=host, port=port, threads=threads, ident=None)
        return
    serve_wsgiref(app, host, port)


def serve_wsgiref(app, host, port):
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Handler(WSGIRequestHandler):
        def log_message(self, format, *args):
            sys.stderr.write("%s\n" % (format % args))

    print(
        "slipway: neither gunicorn nor waitress is installed; serving WSGI with wsgiref, "
        f"which is not meant for production, on {host}:{port}",
        flush=True,
    )
    make_server(host, port, app, server_class=Server, handler_class=Handler).serve_forever()


def serve_asgi(app, host, port, root_path):
    import uvicorn

    print(f"slipway: serving ASGI with uvicorn on {host}:{port}", flush=True)
    uvicorn.run(app, host=host, port=port, root_path=root_path, log_level="info")


def serve_streamlit(script, host, port, root_path):
    args = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.port", str(port), "--server.address", host,
        "--server.headless", "true", "--server.baseUrlPath", root_path,
    ]
    print(f"slipway: serving streamlit on {host}:{port}", flush=True)
    os.execv(sys.executable, args)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("wsgi", "asgi", "streamlit"):
        sys.exit("usage: slipway_launch.py wsgi|asgi|streamlit ENTRYPOINT")
    mode, entrypoint = sys.argv[1], sys.argv[2]
    host = os.environ.get("SLIPWAY_HOST", "127.0.0.1")
    port = int(os.environ["SLIPWAY_PORT_HTTP"])
    root_path = os.environ.get("SLIPWAY_ROOT_PATH", "")
    if mode == "streamlit":
        serve_streamlit(entrypoint, host, port, root_path)
        return
    app = load(entrypoint)
    # Dash and similar frameworks wrap a Flask application they keep in `server`.
    if mode == "wsgi" and not callable(app) and hasattr(app, "server"):
        app = app.server
    if mode == "asgi":
        serve_asgi(app, host, port, root_path)
    else:
        serve_wsgi(app, host, port, root_path)


if __name__ == "__main__":
    main()
