"""moto in server mode, serving one request at a time.

moto_server runs werkzeug with threaded=True, and moto's DynamoDB conditional writes are not
atomic across threads: two UpdateItem calls racing for the same lock can both see the condition
hold and both succeed. Real DynamoDB makes each conditional write atomic, and kboot's lease relies
on exactly that. Serving requests one at a time restores the guarantee; it is the same moto
application (moto.server's DomainDispatcherApplication), only without threads.

Usage: python moto_serial.py HOST PORT
"""

import os
import sys

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
