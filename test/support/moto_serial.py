"""moto in server mode, serving one request at a time.

moto_server runs werkzeug with threaded=True, and moto's DynamoDB conditional writes are not
atomic across threads: two UpdateItem calls racing for the same lock can both see the condition
hold and both succeed. Real DynamoDB makes each conditional write atomic, and kboot's lease relies
on exactly that. Serving requests one at a time restores the guarantee; it is the same moto
application (moto.server's DomainDispatcherApplication), only without threads.

One moto gap is mended here, narrowly: CreateLaunchTemplateVersion keeps the new version's
UserData as the raw base64 text, where CreateLaunchTemplate parses it, so an Auto Scaling group
launching the new version fails an assertion (HTTP 500). kboot's upgrade roll launches exactly
such versions; the mend parses UserData the way CreateLaunchTemplate does, and nothing else.

Usage: python moto_serial.py HOST PORT
"""

import os
import sys

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def mend_launch_template_versions() -> None:
    from moto.ec2.responses.launch_templates import LaunchTemplates
    from moto.ec2.utils import parse_user_data

    original = LaunchTemplates.create_launch_template_version

    def create_launch_template_version(self):  # type: ignore[no-untyped-def]
        get_param = self._get_param

        def parsed(name, *args, **kwargs):  # type: ignore[no-untyped-def]
            value = get_param(name, *args, **kwargs)
            if name == "LaunchTemplateData" and isinstance(value, dict) and "UserData" in value:
                value["UserData"] = parse_user_data(get_param("LaunchTemplateData.UserData"))
            return value

        self._get_param = parsed
        try:
            return original(self)
        finally:
            del self._get_param

    LaunchTemplates.create_launch_template_version = create_launch_template_version


def main() -> None:
    mend_launch_template_versions()
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
