"""Declared reading station (spec §9, F8, §10 test 9): the server's evaluation of the display, the enrolment of
a station's browser, the check endpoint, and the verdict gate (centre setting) with the status kept on each
reading."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from readings.models import L2Reading, ReadingStation
from readings.services.l2_reading import l2_reading_submit
from readings.services.stations import station_enrol, station_evaluate, station_for_token, station_token_hash
from screening.models import AuditEvent, CentreRole
from screening.services.errors import ServiceError
from tests.factories import (
    PASSWORD,
    PracticeFactory,
    SiteFactory,
    UserFactory,
    coordinator,
    l1_of,
    reader_at,
    staff_of,
    submitted_exam,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COOKIE = "l2_station"
GOOD = {
    "pattern": "ok",
    "fullscreen": True,
    "zoom_scale": 1,
    "dpr": 1,
    "screen_width": 2560,
    "screen_height": 2048,
    "area_mpx": 5.2,
    "webgl2": True,
    "norm16": True,
    "viewer": "cornerstone",
}


def make_station(**overrides) -> ReadingStation:
    today = timezone.localdate()
    fields = {
        "name": "Moulins — poste 1",
        "site": SiteFactory(),
        "monitor_model": "Barco Coronis Uniti MDMC-12133",
        "screen_width": 2560,
        "screen_height": 2048,
        "device_pixel_ratio": 1,
        "calibrated_on": today - dt.timedelta(days=30),
        "qa_on": today - dt.timedelta(days=7),
    }
    fields.update(overrides)
    return ReadingStation.objects.create(**fields)


@pytest.fixture
def enrolled():
    station = make_station()
    station, token = station_enrol(station_id=station.pk, actor=coordinator())
    return station, token


def _post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


# ------------------------------------------------------------------------------------------------ the service


def test_a_declared_station_in_date_with_a_good_report_is_diagnostic(enrolled):
    station, token = enrolled
    status = station_evaluate(token=token, client_report=GOOD)
    assert status["diagnostic"] is True and status["failed"] == [] and status["labels"] == []
    assert status["station"]["name"] == station.name
    assert status["station"]["monitor"] == "Barco Coronis Uniti MDMC-12133"
    assert status["station"]["calibration_due"] == station.calibration_due.isoformat()
    assert status["client"]["pattern"] == "ok"
    json.dumps(status)  # stored as is on the reading


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"pattern": "wrong_corner"}, "pattern", "mauvais coin"),
        ({"pattern": "skipped"}, "pattern", "mire"),
        ({"pattern": "not_done"}, "pattern", "mire"),
        ({"fullscreen": False}, "fullscreen", "plein écran"),
        ({"zoom_scale": 1.25}, "zoom", "zoom"),
        ({"dpr": 1.1}, "dpr", "devicePixelRatio 1.1 au lieu de 1"),
        ({"screen_width": 1920, "screen_height": 1080}, "screen", "1920 × 1080 ≠ 2560 × 2048"),
        ({"area_mpx": 3.1}, "area", "3,1 Mpx < 5 Mpx"),
        ({"webgl2": False, "norm16": False}, "webgl2", "WebGL2"),
        ({"norm16": False}, "norm16", "EXT_texture_norm16"),
        ({"viewer": "apercu"}, "viewer", "aperçus"),
    ],
)
def test_each_client_condition_fails_alone_with_its_french_reason(enrolled, change, code, words):
    _station, token = enrolled
    status = station_evaluate(token=token, client_report={**GOOD, **change})
    assert status["diagnostic"] is False
    assert status["failed"] == [code]
    assert words in status["labels"][0]


def test_calibration_and_qa_dates_decide_up_to_the_last_valid_day(enrolled):
    station, token = enrolled
    today = timezone.localdate()
    station.calibrated_on = today - dt.timedelta(days=365)  # due today: still valid
    station.save()
    assert station_evaluate(token=token, client_report=GOOD)["diagnostic"] is True
    station.calibrated_on = today - dt.timedelta(days=366)
    station.save()
    status = station_evaluate(token=token, client_report=GOOD)
    assert status["failed"] == ["calibration_expired"] and "étalonnage GSDF périmé" in status["labels"][0]
    station.calibrated_on, station.calibration_validity_days = today - dt.timedelta(days=366), 400
    station.qa_on, station.qa_validity_days = today - dt.timedelta(days=31), 30
    station.save()
    assert station_evaluate(token=token, client_report=GOOD)["failed"] == ["qa_expired"]
    station.calibrated_on = station.qa_on = None
    station.save()
    assert station_evaluate(token=token, client_report=GOOD)["failed"] == [
        "calibration_missing",
        "qa_missing",
    ]


def test_unknown_missing_or_inactive_station_and_no_report_are_not_diagnostic(enrolled):
    station, token = enrolled
    for unknown in (None, "", "not-a-token", "x" * 500):
        status = station_evaluate(token=unknown, client_report=GOOD)
        assert status["failed"] == ["no_station"] and status["station"] is None
        assert "non enrôlé" in status["labels"][0]
    station.active = False
    station.save()
    status = station_evaluate(token=token, client_report=GOOD)
    assert status["failed"] == ["station_inactive"] and "désactivé" in status["labels"][0]
    station.active = True
    station.save()
    assert station_evaluate(token=token, client_report=None)["failed"] == ["not_checked"]
    # A report of the wrong shape is judged, never a crash.
    junk = {"dpr": "NaN", "screen_width": "huge", "area_mpx": None, "fullscreen": "yes", "pattern": "ok!"}
    status = station_evaluate(token=token, client_report=junk)
    assert status["diagnostic"] is False and {"pattern", "fullscreen", "dpr", "area"} <= set(status["failed"])


def test_the_minimum_viewing_area_is_a_centre_setting(enrolled, settings):
    _station, token = enrolled
    settings.L2_STATION_MIN_AREA_MPX = 8
    assert station_evaluate(token=token, client_report=GOOD)["failed"] == ["area"]
    settings.L2_STATION_MIN_AREA_MPX = 2
    assert station_evaluate(token=token, client_report={**GOOD, "area_mpx": 3})["diagnostic"] is True


def test_only_the_hash_of_the_token_is_stored_and_re_enrolling_drops_the_old_browser(enrolled):
    station, token = enrolled
    station.refresh_from_db()
    assert station.token_hash == station_token_hash(token) and token not in station.token_hash
    assert station_for_token(token=token) == station
    _station, newer = station_enrol(station_id=station.pk, actor=coordinator())
    assert station_for_token(token=token) is None and station_for_token(token=newer) == station


# ------------------------------------------------------------------------------------------------- enrolment


def test_a_coordinator_enrols_the_station_browser_cookie_and_audit(client):
    station = make_station()
    boss = coordinator()
    client.login(username=boss.username, password=PASSWORD)
    url = f"/lecture/poste-de-lecture/enroler/{station.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and COOKIE not in page.cookies
    assert "Enrôler ce navigateur" in page.content.decode() and station.monitor_model in page.content.decode()
    done = client.post(url)
    assert done.status_code == 200
    assert "est maintenant le poste de lecture déclaré « Moulins — poste 1 »" in done.content.decode()
    cookie = done.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]  # test server: http
    assert int(cookie["max-age"]) >= 365 * 24 * 3600
    station.refresh_from_db()
    assert station.token_hash == station_token_hash(cookie.value)
    assert station.enrolled_by == boss and station.enrolled_at is not None
    audit = AuditEvent.objects.get(actor=boss, action="STATION_ENROL")
    assert station.name in audit.object_ref
    # Opened again on that browser, the page says it is this station already.
    assert "déjà enrôlé comme ce poste" in client.get(url).content.decode()


def test_enrolment_is_secure_over_https_refused_to_readers_and_to_inactive_stations(client):
    station = make_station()
    admin = UserFactory(centre_role=CentreRole.ADMINISTRATOR)
    client.login(username=admin.username, password=PASSWORD)
    url = f"/lecture/poste-de-lecture/enroler/{station.pk}/"
    assert client.post(url, secure=True).cookies[COOKIE]["secure"]
    reader = reader_at(SiteFactory())
    client.login(username=reader.username, password=PASSWORD)
    assert client.post(url).status_code == 403
    client.login(username=staff_of(PracticeFactory()).username, password=PASSWORD)
    assert client.post(url).status_code == 403
    client.login(username=admin.username, password=PASSWORD)
    station.active = False
    station.save()
    refused = client.post(url)
    assert refused.status_code == 409 and COOKIE not in refused.cookies
    assert "désactivé" in refused.content.decode()
    assert client.get("/lecture/poste-de-lecture/enroler/999999/").status_code == 404


# --------------------------------------------------------------------------------------------- check endpoint


def test_the_check_endpoint_judges_the_pattern_the_server_drew(client, enrolled):
    station, token = enrolled
    reader = reader_at(station.site)
    client.login(username=reader.username, password=PASSWORD)
    client.cookies[COOKIE] = token
    report = {k: v for k, v in GOOD.items() if k != "pattern"}
    # Answering without a drawn corner, or claiming "ok" in the report, proves nothing.
    lone = _post(
        client, "/lecture/api/poste/controle/", {"report": {**report, "pattern": "ok"}, "answer": "tl"}
    )
    assert lone.json()["failed"] == ["pattern"]
    corner = _post(client, "/lecture/api/poste/mire/", {}).json()["corner"]
    wrong = next(c for c in ("tl", "tr", "bl", "br") if c != corner)
    bad = _post(client, "/lecture/api/poste/controle/", {"report": report, "answer": wrong}).json()
    assert bad["failed"] == ["pattern"] and bad["banner"].startswith("AFFICHAGE NON DIAGNOSTIQUE — poste « ")
    assert bad["verdicts_allowed"] is True  # default centre setting: verdicts stay allowed with the banner
    corner = _post(client, "/lecture/api/poste/mire/", {}).json()["corner"]
    good = _post(client, "/lecture/api/poste/controle/", {"report": report, "answer": corner})
    body = good.json()
    assert body["diagnostic"] is True and body["failed"] == [] and body["banner"] == ""
    assert body["station"]["name"] == station.name and body["summary"].startswith("Affichage diagnostique")
    assert body["station"]["calibration_due"] == station.calibration_due.isoformat()
    assert good.cookies[COOKIE].value == token  # the cookie's life is renewed while the station is used
    # A later re-check (zoom changed) keeps the pattern result of the session start.
    zoomed = _post(client, "/lecture/api/poste/controle/", {"report": {**report, "dpr": 1.1}}).json()
    assert zoomed["failed"] == ["dpr"]
    assert zoomed["client"]["pattern"] == "ok"
    assert _post(client, "/lecture/api/poste/controle/", "nope").json()["code"] == "bad_report"
    assert _post(client, "/lecture/api/poste/controle/", {"report": 3}).status_code == 400
    assert client.get("/lecture/api/poste/controle/").status_code == 405


def test_without_the_station_cookie_the_browser_is_not_a_declared_station(client, enrolled):
    station, _token = enrolled
    client.login(username=reader_at(station.site).username, password=PASSWORD)
    corner = _post(client, "/lecture/api/poste/mire/", {}).json()["corner"]
    body = _post(client, "/lecture/api/poste/controle/", {"report": GOOD, "answer": corner}).json()
    assert body["failed"] == ["no_station"] and "poste non déclaré" in body["banner"]


# ------------------------------------------------------------------------------------------------ the verdict


@pytest.fixture
def world(client, enrolled):
    station, token = enrolled
    practice = PracticeFactory()
    staff, l1 = staff_of(practice), l1_of(practice)
    reader = reader_at(station.site)
    exams = [submitted_exam(practice=practice, staff=staff, l1=l1) for _ in range(2)]
    client.login(username=reader.username, password=PASSWORD)
    return {"reader": reader, "exams": exams, "station": station, "token": token}


def _check(client, report=GOOD):
    corner = _post(client, "/lecture/api/poste/mire/", {}).json()["corner"]
    return _post(client, "/lecture/api/poste/controle/", {"report": report, "answer": corner}).json()


def test_verdicts_from_a_non_diagnostic_display_are_refused_when_the_centre_says_so(client, world, settings):
    settings.L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION = True
    first, second = world["exams"]
    checked = _check(client)  # no station cookie yet
    assert checked["verdicts_allowed"] is False and checked["verdicts_required"] is True
    assert "mettez le cas de côté" in checked["verdicts_detail"]
    url = f"/lecture/api/cas/{first.pk}/verdict/"
    refused = _post(client, url, {"verdict": "NORMAL"})
    assert refused.status_code == 409 and refused.json()["code"] == "station_not_diagnostic"
    assert "Affichage non diagnostique" in refused.json()["detail"]
    assert "non enrôlé" in refused.json()["detail"]
    assert not L2Reading.objects.filter(exam=first).exists()
    # Enrolled station, good check: accepted, and the status is on the reading.
    client.cookies[COOKIE] = world["token"]
    assert _check(client)["verdicts_allowed"] is True
    accepted = _post(client, url, {"verdict": "NORMAL"})
    assert accepted.status_code == 201, accepted.json()
    reading = L2Reading.objects.get(exam=first)
    assert reading.station_diagnostic is True
    assert reading.station_status["station"]["name"] == world["station"].name
    assert reading.station_status["client"]["pattern"] == "ok"
    # Leaving full screen mid-session: the re-check turns verdicts off again.
    lost = _post(client, "/lecture/api/poste/controle/", {"report": {**GOOD, "fullscreen": False}}).json()
    assert lost["verdicts_allowed"] is False and lost["failed"] == ["fullscreen"]
    assert _post(client, f"/lecture/api/cas/{second.pk}/verdict/", {"verdict": "NORMAL"}).status_code == 409
    # The station's calibration lapses: the server re-judges at the verdict itself.
    _post(client, "/lecture/api/poste/controle/", {"report": GOOD})
    world["station"].calibrated_on = timezone.localdate() - dt.timedelta(days=400)
    world["station"].save()
    late = _post(client, f"/lecture/api/cas/{second.pk}/verdict/", {"verdict": "NORMAL"})
    assert late.status_code == 409 and "étalonnage GSDF périmé" in late.json()["detail"]


def test_with_the_default_setting_verdicts_stay_allowed_and_record_the_status(client, world, settings):
    assert settings.L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION is False
    first, second = world["exams"]
    _check(client, {**GOOD, "viewer": "apercu"})
    response = _post(client, f"/lecture/api/cas/{first.pk}/verdict/", {"verdict": "NORMAL"})
    assert response.status_code == 201
    reading = L2Reading.objects.get(exam=first)
    assert reading.station_diagnostic is False
    assert set(reading.station_status["failed"]) == {"no_station", "viewer"}
    client.cookies[COOKIE] = world["token"]
    _check(client)
    assert _post(client, f"/lecture/api/cas/{second.pk}/verdict/", {"verdict": "NORMAL"}).status_code == 201
    assert L2Reading.objects.get(exam=second).station_diagnostic is True
    # The coordinator filters the readings by "poste diagnostique" in the admin.
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.login(username=admin.username, password=PASSWORD)
    yes = client.get("/admin/readings/l2reading/?station_diagnostic__exact=1")
    no = client.get("/admin/readings/l2reading/?station_diagnostic__exact=0")
    assert yes.status_code == no.status_code == 200
    assert yes.context["cl"].result_count == 1 and no.context["cl"].result_count == 1
    assert list(yes.context["cl"].queryset) == [L2Reading.objects.get(exam=second)]
    assert "poste diagnostique" in yes.content.decode()
    station_page = client.get(f"/admin/readings/readingstation/{world['station'].pk}/change/")
    assert f"/lecture/poste-de-lecture/enroler/{world['station'].pk}/" in station_page.content.decode()


def test_the_service_refuses_an_unknown_station_status_when_required(world, settings):
    """The HTML reading page sends no station status: with the setting on it is refused as well."""
    settings.L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION = True
    with pytest.raises(ServiceError) as refused:
        l2_reading_submit(exam_id=world["exams"][0].pk, reader=world["reader"], verdict="NORMAL")
    assert refused.value.code == "station_not_diagnostic"
    settings.L2_VERDICT_REQUIRES_DIAGNOSTIC_STATION = False
    reading = l2_reading_submit(exam_id=world["exams"][0].pk, reader=world["reader"], verdict="NORMAL")
    assert reading.station_diagnostic is None and reading.station_status == {}
