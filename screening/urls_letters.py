"""URLs of the letters pages (issue 6), mounted at /coordination/courriers/."""

from django.urls import path

from screening.views import letters

app_name = "letters"
urlpatterns = [
    path("", letters.ready, name="ready"),
    path("programmes/", letters.planned, name="planned"),
    path("programmes/generer/", letters.generate_now, name="generate_now"),
    path("envoyes/", letters.sent, name="sent"),
    path("imprimer/", letters.print_selection, name="print"),
    path("marquer-envoyes/", letters.mark_sent, name="mark_sent"),
    path("<int:letter_id>.pdf", letters.letter_pdf, name="letter_pdf"),
    path("lots/<int:batch_id>/", letters.batch_detail, name="batch"),
    path("lots/<int:batch_id>.pdf", letters.batch_pdf, name="batch_pdf"),
    path("modeles/", letters.templates, name="templates"),
    path("modeles/<str:kind>/", letters.template_edit, name="template_edit"),
    path("modeles/<str:kind>/apercu.pdf", letters.template_preview, name="template_preview"),
    path("modeles/<str:kind>/versions/", letters.template_history, name="template_history"),
]
