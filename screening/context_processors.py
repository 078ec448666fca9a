from django.conf import settings

from screening.selectors import user_roles


def roles(request):
    """Roles for the navigation, and the current path without its language prefix for the switcher."""
    path = request.get_full_path()
    for code, _name in settings.LANGUAGES:
        if code != settings.LANGUAGE_CODE and (path == f"/{code}" or path.startswith(f"/{code}/")):
            path = path[len(code) + 1 :] or "/"
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"roles": None, "path_without_language": path}
    return {"roles": user_roles(user), "path_without_language": path}
