from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from screening import api, api_uploads
from screening.api_v1.docs import api_docs
from screening.views import common, images, inbox, practice, receptions

practice_patterns = (
    [
        path("", practice.exam_list, name="exam_list"),
        path("nouveau/", practice.exam_new, name="exam_new"),
        path("<int:exam_id>/", practice.exam_detail, name="exam_detail"),
        path("<int:exam_id>/transmettre/", practice.exam_submit_view, name="exam_submit"),
        path("boite-de-reception/", inbox.inbox, name="inbox"),
        path("boite-de-reception/<int:study_id>/rattacher/", inbox.inbox_attach, name="inbox_attach"),
    ],
    "practice",
)

urlpatterns = [
    path("healthz/", common.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/examens/<int:exam_id>/fichiers/", api.exam_files, name="api_exam_files"),
    path("api/examens/<int:exam_id>/envois/", api_uploads.upload_create, name="api_exam_uploads"),
    path(
        "api/examens/<int:exam_id>/envois/<str:upload_id>/", api_uploads.upload_detail, name="api_exam_upload"
    ),
    path("api/v1/", include("screening.api_v1.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", api_docs, name="api_docs"),
    path("dicomweb/", include("screening.dicomweb.urls")),
    path("images/<int:instance_id>/<str:kind>.png", images.rendition, name="rendition"),
    path("images/<int:instance_id>/<str:kind>.webp", images.rendition, name="rendition_webp"),
]
urlpatterns += i18n_patterns(
    path("", common.home, name="home"),
    path("connexion/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("examens/", include(practice_patterns)),
    path("fichiers-recus/", receptions.reception_list, name="receptions"),
    path("lecture/", include("readings.urls")),
    path("coordination/courriers/", include("screening.urls_letters")),
    path("coordination/indicateurs/", include("readings.urls_indicators")),
    path("coordination/films/", include("readings.urls_films")),
    path("coordination/", include("readings.urls_coordination")),
    path("suivi/", include("screening.urls_followup")),
    path("reprises/", include("screening.urls_retakes")),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)
