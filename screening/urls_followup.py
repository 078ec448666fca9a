"""URLs of the follow-up of positives (issue 6), mounted at /suivi/."""

from django.urls import path

from screening.views import followup

app_name = "followup"
urlpatterns = [
    path("", followup.worklist, name="worklist"),
    path("tableau/", followup.board, name="board"),
    path("examen/<int:exam_id>/", followup.exam_followup, name="exam"),
    path("examen/<int:exam_id>/bilan/", followup.work_up_new, name="work_up"),
    path("examen/<int:exam_id>/histologie/", followup.histology_new, name="histology"),
    path("examen/<int:exam_id>/traitement/", followup.treatment_edit, name="treatment"),
    path("cancer-intervalle/", followup.interval_cancer_lookup, name="interval_lookup"),
    path("examen/<int:exam_id>/cancer-intervalle/", followup.interval_cancer_new, name="interval_cancer"),
]
