"""URLs of the retakes pages (issue 6): the practice's « Clichés à refaire » and the coordination's list."""

from django.urls import path

from screening.views import retakes

app_name = "retakes"
urlpatterns = [
    path("", retakes.retake_home, name="list"),
    path("coordination/", retakes.coordination_list, name="coordination"),
    path("coordination/<int:exam_id>/clore/", retakes.coordination_close, name="close"),
    path("<int:exam_id>/", retakes.retake_detail, name="detail"),
    path("<int:exam_id>/envoyer/", retakes.retake_upload, name="upload"),
    path("<int:exam_id>/reprise-complete/", retakes.retake_complete, name="complete"),
    path("<int:exam_id>/refus/", retakes.retake_refuse, name="refuse"),
    path("<int:exam_id>/refus/declaration/", retakes.retake_statement, name="statement"),
]
