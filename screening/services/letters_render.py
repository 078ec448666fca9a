"""Letters (§7): checking a coordinator's template, building the context from an exam, HTML → PDF (WeasyPrint).

The coordinator edits only the subject and the body; the letterhead, the window-envelope address block, the date
line and the CRCDC signature come from templates/letters/print/letter.html. The context never holds the L2
reader (R-ANON-1): a template cannot name them, whatever it says.
"""

import datetime as dt
import logging
import re

from django.conf import settings
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, TextNode, Variable, VariableNode
from django.template.defaulttags import CommentNode, FirstOfNode, ForNode, IfNode, SpacelessNode, WithNode
from django.template.loader import render_to_string
from django.utils import formats, translation
from django.utils.safestring import mark_safe

from readings.models import L2Reading
from screening.models import Exam, LetterKind, RecipientKind
from screening.services.errors import ServiceError
from screening.services.letters_defaults import VARIABLES, centre_identity
from screening.services.letters_schema import breast_schema_svg

K = LetterKind
SIDE_FR = {"D": "sein droit", "G": "sein gauche"}
DEPTH_FR = {"ANT": "tiers antérieur", "MOY": "tiers moyen", "POST": "tiers postérieur"}
ALLOWED_NODES = (TextNode, VariableNode, IfNode, ForNode, WithNode, CommentNode, FirstOfNode, SpacelessNode)
ALLOWED_FILTERS = frozenset(
    {"date", "default", "default_if_none", "upper", "lower", "capfirst", "title", "length", "yesno",
     "pluralize", "linebreaksbr", "join", "first", "last", "floatformat"}
)  # fmt: skip


class _LetterEngine(Engine):
    # No loader tags ({% include %}, {% extends %}) and no {% load %}: a letter cannot reach other templates.
    default_builtins = ["django.template.defaulttags", "django.template.defaultfilters"]


ENGINE = _LetterEngine(debug=True, libraries={}, autoescape=True)


# ---------------------------------------------------------------- template check


def _fr_syntax(message: str) -> str:
    if m := re.search(r"Unclosed tag on line \d+: '(\w+)'. Looking for one of: ([\w, ]+)", message):
        return f"la balise « {m[1]} » n'est pas fermée (attendu : {m[2]})"
    if m := re.search(r"Invalid block tag on line \d+: '(\w+)', expected (.+?)\. Did", message):
        return f"balise « {m[1]} » inattendue (attendu : {m[2].replace(' or ', ' ou ')})"
    if m := re.search(r"Invalid block tag on line \d+: '(\w+)'", message):
        return f"balise « {m[1]} » inconnue ou non autorisée"
    if m := re.search(r"Invalid filter: '(\w+)'", message):
        return f"filtre « {m[1]} » inconnu"
    if "Empty variable tag" in message:
        return "variable vide {{ }}"
    if "is not a registered tag library" in message:
        return "{% load %} n'est pas autorisé"
    if m := re.search(r"Could not parse the remainder: '(.*)' from '(.*)'", message):
        return f"expression illisible « {m[2]} »"
    return f"erreur de syntaxe ({message})"


FIELDS = {"Objet": "subject", "Texte": "body"}


def _refuse(code: str, what: str, line, message: str):
    raise ServiceError(code, f"{what}, ligne {line} : {message}.", field=FIELDS.get(what))


def _compile(source: str, what: str) -> Template:
    try:
        return Template(source, engine=ENGINE)
    except TemplateSyntaxError as error:
        line = getattr(error, "template_debug", {}).get("line", "?")
        _refuse("letter_template_syntax", what, line, _fr_syntax(str(error)))


def _schema_of(var, scope: dict, line, what: str):
    """The documented schema a variable path points to; refused when the path is not documented."""
    if not isinstance(var, Variable) or var.lookups is None:
        return "valeur"  # a literal
    path = var.lookups
    if path[0] == "forloop":
        return "valeur"
    schema = scope[path[0]] if path[0] in scope else VARIABLES.get(path[0])
    for name in path[1:]:
        schema = schema.get(name) if isinstance(schema, dict) else None
        if schema is None:
            break
    if schema is None:
        _refuse(
            "letter_template_variable", what, line,
            f"la variable « {'.'.join(path)} » n'existe pas (voir la liste des variables disponibles)",
        )  # fmt: skip
    return schema


def _check_expr(expr: FilterExpression, scope: dict, line, what: str):
    schema = _schema_of(expr.var, scope, line, what)
    for func, args in expr.filters:
        if func.__name__ not in ALLOWED_FILTERS:
            _refuse("letter_template_filter", what, line, f"le filtre « {func.__name__} » n'est pas autorisé")
        for lookup, arg in args:
            if lookup:
                _schema_of(arg, scope, line, what)
    return schema


def _check_condition(cond, scope: dict, line: int, what: str) -> None:
    if cond is None:
        return
    if isinstance(getattr(cond, "value", None), FilterExpression):
        _check_expr(cond.value, scope, line, what)
    for part in (getattr(cond, "first", None), getattr(cond, "second", None)):
        if part is not None:
            _check_condition(part, scope, line, what)


def _check_nodes(nodes, scope: dict, what: str) -> None:
    for node in nodes:
        line = getattr(getattr(node, "token", None), "lineno", "?")
        if not isinstance(node, ALLOWED_NODES):
            name = getattr(getattr(node, "token", None), "contents", type(node).__name__).split()[0]
            _refuse("letter_template_tag", what, line, f"la balise « {name} » n'est pas autorisée")
        if isinstance(node, VariableNode):
            _check_expr(node.filter_expression, scope, line, what)
        elif isinstance(node, IfNode):
            for cond, branch in node.conditions_nodelists:
                _check_condition(cond, scope, line, what)
                _check_nodes(branch, scope, what)
        elif isinstance(node, ForNode):
            schema = _check_expr(node.sequence, scope, line, what)
            item = schema[0] if isinstance(schema, list) else "valeur"
            inner = {**scope, **dict.fromkeys(node.loopvars, item)}
            _check_nodes(node.nodelist_loop, inner, what)
            _check_nodes(node.nodelist_empty, scope, what)
        elif isinstance(node, WithNode):
            names = {name: _check_expr(expr, scope, line, what) for name, expr in node.extra_context.items()}
            _check_nodes(node.nodelist, {**scope, **names}, what)
        elif isinstance(node, FirstOfNode):
            for expr in node.vars:
                _check_expr(expr, scope, line, what)
        elif isinstance(node, SpacelessNode):
            _check_nodes(node.nodelist, scope, what)


def template_check(*, subject: str, body: str) -> None:
    """Refuse (ServiceError, French, with the line) a template that does not compile or uses unknown names."""
    if not subject.strip() or not body.strip():
        raise ServiceError("letter_template_empty", "L'objet et le texte du courrier sont obligatoires.")
    for source, what in ((subject, "Objet"), (body, "Texte")):
        _check_nodes(_compile(source, what).nodelist, {}, what)


# ---------------------------------------------------------------- context


def date_long(day: dt.date) -> str:
    """« 29 novembre 2026 », « 1er décembre 2026 »."""
    with translation.override("fr"):
        text = formats.date_format(day, "j F Y")
    return text.replace("1 ", "1er ", 1) if day.day == 1 else text


def _label(choice_label: str) -> str:
    """« A — opacité spiculée » → « opacité spiculée »; « Flou cinétique » → « flou cinétique »."""
    text = str(choice_label).split(" — ", 1)[-1]
    return text[:1].lower() + text[1:]


def _deciding(exam: Exam, verdict: str) -> L2Reading | None:
    """The latest final reading with that verdict (the one that sent the exam to this letter)."""
    return (
        L2Reading.objects.filter(exam=exam, status=L2Reading.Status.FINAL, verdict=verdict)
        .exclude(superseded_by__isnull=False)
        .order_by("-reading_round", "-final_at", "-pk")
        .first()
    )


def _findings(reading: L2Reading | None) -> list[dict]:
    rows = []
    for f in reading.findings.order_by("side", "pk") if reading else []:
        where = _label(f.get_quadrant_display()) + (f" ({f.clock} h)" if f.clock else "")
        depth = DEPTH_FR.get(f.depth, "")
        size = f"{f.size_mm} mm" if f.size_mm else ""
        summary = f"{SIDE_FR[f.side]}, {where}" + (f", {depth}" if depth else "")
        summary += f" : {_label(f.get_lesion_type_display())}" + (f", {size}" if size else "")
        rows.append(
            {"sein": SIDE_FR[f.side], "localisation": _label(f.get_quadrant_display()),
             "rayon": f"{f.clock} h" if f.clock else "", "profondeur": depth,
             "type": _label(f.get_lesion_type_display()), "taille": size, "acr": str(f.acr), "resume": summary}
        )  # fmt: skip
    return rows


def _cti_items(reading: L2Reading | None) -> list[dict]:
    return [
        {"sein": SIDE_FR[i.side], "incidence": _label(i.get_view_display()), "motif": _label(i.get_reason_display()),
         "action": _label(i.get_action_display()), "consignes": i.instructions}
        for i in (reading.cti_items.order_by("side", "view", "pk") if reading else [])
    ]  # fmt: skip


def _doctor_name(woman) -> str:
    doctors = sorted(woman.doctors.all(), key=lambda d: (d.kind != "GP", d.pk))
    return doctors[0].name if doctors else woman.gp_name


def exam_context(*, exam: Exam, kind: str) -> dict:
    """The exam's part of the context: the woman, the exam, the L2 findings or CTI items (never the reader)."""
    woman = exam.participant
    context = {
        "femme": {
            "civilite": "Madame",
            "prenom": woman.first_name,
            "nom": woman.last_name.upper(),
            "nom_complet": f"Madame {woman.first_name} {woman.last_name.upper()}",
            "numero": woman.programme_id,
            "date_naissance": woman.birth_date,
            "medecin": _doctor_name(woman),
        },
        "examen": {
            "date": exam.mammogram_date,
            "cabinet": exam.practice.name,
            "ville": exam.practice.town,
            "radiologue": str(exam.l1_radiologist),
        },
        "anomalies": [],
        "examens_proposes": "",
        "schema": "",
        "cti": [],
    }
    if kind in (K.POS_M, K.POS_F, K.POS_R, K.REM_FU):
        reading = _deciding(exam, L2Reading.Verdict.ANOMALY)
        context["anomalies"] = _findings(reading)
        marks = reading.findings.order_by("side", "pk").values("side", "quadrant", "clock") if reading else []
        context["schema"] = breast_schema_svg(list(marks))
        context["examens_proposes"] = reading.proposed_exams if reading else ""
    if kind in (K.CTI_F, K.CTI_R, K.REM_CTI):
        context["cti"] = _cti_items(_deciding(exam, L2Reading.Verdict.CTI))
    return context


def letter_context(
    *, base: dict, mammogram_date: dt.date, letter_date: dt.date, due_at: dt.date | None,
    recipient_kind: str, recipient_name: str,
) -> dict:  # fmt: skip
    """The full context: the exam's part plus the recipient, the letter's dates and deadlines, the centre."""
    retake_days = getattr(settings, "L2_RETAKE_DEADLINE_DAYS", 182)
    with translation.override("fr"):
        next_invitation = formats.date_format(
            mammogram_date.replace(year=mammogram_date.year + 2, day=1), "F Y"
        )
    return {
        **base,
        "destinataire": {
            "nom": recipient_name,
            "type": str(RecipientKind(recipient_kind).label),
            "est_femme": recipient_kind == RecipientKind.WOMAN,
            "est_medecin": recipient_kind in (RecipientKind.GP, RecipientKind.GYN),
            "est_radiologue": recipient_kind in (RecipientKind.L1, RecipientKind.PRACTICE),
        },
        "courrier": {"date": letter_date, "date_limite": due_at},
        "delais": {
            "reprise": letter_date + dt.timedelta(days=retake_days),
            "prochaine_invitation": next_invitation,
        },
        "centre": centre_identity(),
    }


# ---------------------------------------------------------------- HTML and PDF


def render_parts(*, subject: str, body: str, context: dict) -> tuple[str, str]:
    """The subject (plain text) and the body (HTML, values escaped) of one letter."""
    with translation.override("fr"):
        try:
            rendered_subject = _compile(subject, "Objet").render(Context(context, autoescape=False))
            rendered_body = _compile(body, "Texte").render(Context(context, autoescape=True))
        except ServiceError:
            raise
        except Exception as error:  # a filter given a bad argument, e.g. |date on a text
            raise ServiceError(
                "letter_template_render", f"Le courrier ne peut pas être composé : {error}."
            ) from error
    return _typography(" ".join(rendered_subject.split())), _typography(rendered_body)


def _typography(html: str) -> str:
    """French spacing in text (never inside tags): no line break before « : ; ? ! » nor after « Dr »."""
    parts = re.split(r"(<[^>]*>)", html)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r" ([:;?!»])", "\u00a0\\1", parts[i])
        parts[i] = re.sub(r"([«]) ", "\\1\u00a0", parts[i])
        parts[i] = re.sub(r"\bDr ", "Dr\u00a0", parts[i])
    return "".join(parts)


def letter_page(
    *, subject: str, body: str, context: dict, recipient_name: str, recipient_address: str, reference: str,
    kind: str = "",
) -> str:  # fmt: skip
    """The printable A4 page around rendered parts: letterhead, window-envelope address, « Vichy, le … », object,
    body, CRCDC signature."""
    centre = context["centre"]
    with translation.override("fr"):
        return render_to_string(
            "letters/print/letter.html",
            {
                "centre": centre,
                "date_line": f"{centre['ville']}, le {date_long(context['courrier']['date'])}",
                "signature_site": centre["site"][:1].lower() + centre["site"][1:],  # « site de l'Allier »
                "subject": subject,
                "body": mark_safe(body),  # noqa: S308 — the letter engine escaped every value
                "recipient_name": recipient_name,
                "recipient_lines": [line for line in recipient_address.splitlines() if line.strip()],
                "reference": reference,
                # A woman told further exams are needed never reads the word « cancer » (§7 POS-F), even in
                # the centre's long name on the letterhead.
                "discreet": kind == K.POS_F or (kind == K.REM_FU and context["destinataire"]["est_femme"]),
            },
        )


def _no_fetch(url: str, *args, **kwargs):
    # Letters embed nothing from outside: an <img src="http://…"> in a template is not fetched.
    raise ValueError(f"ressource externe refusée : {url[:80]}")


def _weasyprint():
    # Imported on first use: it parses its stylesheets at import (slow, and logged on every manage.py command).
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # 7 INFO lines per letter otherwise
    import weasyprint

    return weasyprint


def pdf_from_html(html: str) -> bytes:
    return _weasyprint().HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def pdf_merge_html(htmls: list[str]) -> bytes:
    """One PDF from several letters, in the given order (WeasyPrint documents merged page by page)."""
    weasyprint = _weasyprint()
    documents = [weasyprint.HTML(string=html, url_fetcher=_no_fetch).render() for html in htmls]
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages).write_pdf()
