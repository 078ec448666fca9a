from django.urls import path

from . import views

app_name = "api_v1"
urlpatterns = [
    path("exams/", views.ExamListCreate.as_view(), name="exams"),
    path("exams/<int:exam_id>/", views.ExamDetail.as_view(), name="exam"),
    path("exams/<int:exam_id>/files/", views.ExamFiles.as_view(), name="exam_files"),
    path("exams/<int:exam_id>/submit/", views.ExamSubmit.as_view(), name="exam_submit"),
]
