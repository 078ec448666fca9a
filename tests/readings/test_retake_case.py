"""R-CTI-4 on the workstation: a retake's case says which views were retaken and why, originals marked."""

import pytest

from readings.models import Assignment
from readings.selectors_case import case_for_reader
from readings.services.retakes import retake_receive
from tests.readings.test_retakes import centre, cti_exam, letters_sent, retake_upload  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_retake_round_names_the_retaken_view_and_marks_the_original(centre, tmp_path):  # noqa: F811
    exam, requester = cti_exam(centre, tmp_path)
    first = case_for_reader(reader=requester, exam_id=exam.pk)
    assert first["retake"] is None
    letters_sent(exam, days_ago=40)
    retake_upload(exam, tmp_path, ["RMLO"], centre["staff"])
    retake_receive(exam_id=exam.pk, actor=centre["staff"])
    reader = Assignment.objects.get(exam=exam, state=Assignment.State.ACTIVE).reader
    case = case_for_reader(reader=reader, exam_id=exam.pk)
    assert case["retake"]["round"] == 2
    assert [(i["side"], i["view"]) for i in case["retake"]["items"]] == [("D", "MLO")]
    originals = [v for v in case["extra_views"] if v["original"]]
    assert [v["slot"] for v in originals] == ["RMLO"]  # the original RMLO, now an extra view
    assert case["views"]["RMLO"]["sop_uid"] != originals[0]["sop_uid"]  # the retaken image is hung
    assert case["views"]["RMLO"]["badge"] == "+1"
