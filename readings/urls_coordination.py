from django.urls import path

from readings import views_coordination

app_name = "coordination"
urlpatterns = [
    path("", views_coordination.dashboard, name="dashboard"),
    path("examens/", views_coordination.exam_table, name="exams"),
]
