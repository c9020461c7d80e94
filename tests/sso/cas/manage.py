"""`manage.py migrate`, `manage.py services PATTERN`, `manage.py runserver` of the test CAS server."""

import os
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ybzcas.settings")
    if sys.argv[1:2] == ["services"]:
        # Allow the platform's callback (pattern given) and release every attribute to it.
        import django

        django.setup()
        from cas_server.models import ReplaceAttributName, ServicePattern

        # single_log_out: on sign-out the server POSTs a logoutRequest to the service URL (SLO)
        sp = ServicePattern.objects.create(pos=100, name="yibenzhang", pattern=sys.argv[2], single_log_out=True)
        ReplaceAttributName.objects.create(name="*", replace="", service_pattern=sp)
    else:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
