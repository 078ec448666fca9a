"""URLs of the films pages (issue 6): /coordination/films/…"""

from django.urls import path

from readings import views_films

app_name = "films"
urlpatterns = [
    path("", views_films.home, name="home"),
    path("enregistrer/", views_films.register, name="register"),
    path("seances/", views_films.sessions, name="sessions"),
    path("seances/<int:session_id>/", views_films.session_detail, name="session"),
    path("seances/<int:session_id>/examen/<int:exam_id>/resultat/", views_films.key_in, name="key_in"),
    path("seances/<int:session_id>/examen/<int:exam_id>/retirer/", views_films.unbook, name="unbook"),
    path("a-rendre/", views_films.returns, name="returns"),
    path("a-rendre/<int:exam_id>/", views_films.film_return, name="return"),
]
