from django.urls import path

from readings import views_batches, views_coordination, views_outcomes, views_queue

app_name = "coordination"
urlpatterns = [
    path("", views_coordination.dashboard, name="dashboard"),
    path("examens/", views_coordination.exam_table, name="exams"),
    # Outcomes (issue 6): one exam from verdict to closed, consensus / arbitration, policy versions.
    path("examens/<int:exam_id>/suivi/", views_outcomes.exam_follow, name="exam_follow"),
    path("consensus/", views_outcomes.consensus_list, name="consensus_list"),
    path("consensus/<int:consensus_id>/", views_outcomes.consensus_decide, name="consensus_decide"),
    path("consensus/<int:consensus_id>/lecteur/", views_outcomes.consensus_reader, name="consensus_reader"),
    path("politiques/", views_outcomes.policies, name="policies"),
    # The L2 queue (issue 4): filters, deadline heat map, pin / assign / release, decisions.
    path("file/", views_queue.queue, name="queue"),
    path("file/attribuer-maintenant/", views_queue.assign_now, name="assign_now"),
    path("file/examen/<int:exam_id>/", views_queue.exam_assignment, name="exam_assignment"),
    path("lecteurs/", views_queue.readers, name="readers"),
    path("alertes/", views_queue.alerts, name="alerts"),
    path("alertes/<int:alert_id>/vue/", views_queue.alert_acknowledge, name="alert_acknowledge"),
    # Batches (issue 4): build from the queue filters with a preview, then assign, split, merge, reassign, recall.
    path("lots/", views_batches.batch_list, name="batches"),
    path("lots/nouveau/", views_batches.batch_new, name="batch_new"),
    path("lots/<int:batch_id>/", views_batches.batch_detail, name="batch"),
    path("lots/<int:batch_id>/<str:action>/", views_batches.batch_action, name="batch_action"),
]
