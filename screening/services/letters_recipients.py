"""Letters (§7): who receives a letter, from the woman's file and the exam; TASK-NODOC for the secretariat."""

from django.utils import timezone

from readings.models import Alert
from screening.models import Exam, ExamState, RecipientKind

R = RecipientKind
NODOC_KIND = "TASK_NODOC"  # readings Alert kind (a label to add to Alert.Kind)
# The secretariat checks the woman reached the radiologist while her positive follow-up is open (R-LET-1).
NODOC_OPEN_STATES = (ExamState.L2_POSITIVE, ExamState.RESULT_SENT, ExamState.BDD_PENDING)


def _address(*lines: str) -> str:
    return "\n".join(line.strip() for line in lines if line and line.strip())


def recipients_for(exam: Exam, kinds: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(recipient kind, name, address) for each requested kind, from the woman's file and the exam."""
    woman, practice, l1 = exam.participant, exam.practice, exam.l1_radiologist
    rows: list[tuple[str, str, str]] = []
    for kind in kinds:
        if kind == R.WOMAN:
            town = f"{woman.postal_code} {woman.town.upper()}"
            rows.append(
                (kind, f"Madame {woman.first_name} {woman.last_name.upper()}", _address(woman.address, town))
            )
        elif kind in (R.GP, R.GYN):
            doctors = [d for d in woman.doctors.all() if d.kind == kind]
            rows += [
                (kind, d.name, _address(d.address, f"{d.postal_code} {d.town.upper()}")) for d in doctors
            ]
            if kind == R.GP and not doctors and woman.gp_name.strip():
                rows.append((R.GP, woman.gp_name.strip(), ""))  # named on the L1 form, address unknown
        elif kind == R.L1:
            rows.append((kind, str(l1), _address(practice.name, practice.town.upper())))
        elif kind == R.PRACTICE:
            attention = "À l'attention du" if str(l1).startswith("Dr") else "À l'attention de"
            rows.append((kind, practice.name, _address(f"{attention} {l1}", practice.town.upper())))
    return [(kind, name[:200], address) for kind, name, address in rows]


def alert_no_doctor(exam: Exam) -> None:
    message = (
        f"TASK-NODOC : vérifier le contact avec le radiologue — examen n° {exam.pk} "
        f"({exam.participant.programme_id}) positif en seconde lecture, aucun médecin désigné par la femme."
    )
    Alert.objects.bulk_create(
        [Alert(kind=NODOC_KIND, key=f"{NODOC_KIND}:{exam.pk}", exam=exam, message=message[:300])],
        ignore_conflicts=True,  # one open alert per exam
    )


def nodoc_alerts_resolve() -> int:
    """TASK-NODOC holds while the positive follow-up is open (work-up not received yet)."""
    return (
        Alert.objects.filter(kind=NODOC_KIND, resolved_at__isnull=True)
        .exclude(exam__state__in=NODOC_OPEN_STATES)
        .update(resolved_at=timezone.now())
    )
