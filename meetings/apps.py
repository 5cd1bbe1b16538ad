from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    # "sessions" is Django's own label; people still read "session" everywhere.
    name = "meetings"
    verbose_name = "Sessions and Delphi rounds"
