"""The "Coordination" group: what a coordinator may edit in the admin for assignment (issue 4)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Coordination"
PERMISSIONS = {
    "readings": {
        "assignmentrules": ("add", "view"),  # versioned: every save adds a version
        "readerprofile": ("change", "view"),
        "readerabsence": ("add", "change", "delete", "view"),
        "declaredconflict": ("add", "change", "delete", "view"),
        "siteshare": ("add", "change", "delete", "view"),
        "alert": ("view",),
        "batch": ("view",),
        "readingsession": ("view",),
    },
    "django_celery_beat": {"periodictask": ("change", "view"), "intervalschedule": ("add", "change", "view")},
    "screening": {"practice": ("change", "view")},  # the practice's home site (cross-site routing)
}


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():  # permissions normally appear after migrate: create them now
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, models in PERMISSIONS.items():
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions]
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            )


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("readings", "0003_assignment_engine"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
