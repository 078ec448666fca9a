from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from readings.models import (
    Alert,
    Assignment,
    AssignmentRules,
    Batch,
    DeclaredConflict,
    Discordance,
    L2Reading,
    ReaderAbsence,
    ReaderProfile,
    ReadingSession,
    ReadingStation,
    SiteShare,
)


class ReaderAbsenceInline(admin.TabularInline):
    model = ReaderAbsence
    extra = 1


class DeclaredConflictInline(admin.TabularInline):
    model = DeclaredConflict
    extra = 0


@admin.register(ReaderProfile)
class ReaderProfileAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "site",
        "qualified",
        "active",
        "daily_capacity",
        "weekly_capacity",
        "workdays",
        "load_share",
    )
    list_filter = ("site", "active", "qualified")
    list_editable = ("daily_capacity", "weekly_capacity", "workdays", "load_share")
    inlines = [ReaderAbsenceInline, DeclaredConflictInline]


@admin.register(ReaderAbsence)
class ReaderAbsenceAdmin(admin.ModelAdmin):
    list_display = ("reader", "starts_on", "ends_on", "reason")
    list_filter = ("reader__site",)
    date_hierarchy = "starts_on"


@admin.register(DeclaredConflict)
class DeclaredConflictAdmin(admin.ModelAdmin):
    list_display = ("reader", "practice", "reason")


@admin.register(AssignmentRules)
class AssignmentRulesAdmin(admin.ModelAdmin):
    """Versioned: saving writes a new version (the latest applies), so every past decision keeps its rules."""

    list_display = (
        "__str__",
        "exclude_same_practice",
        "cross_site",
        "yearly_target",
        "stale_after_hours",
        "created_by",
        "note",
    )
    readonly_fields = ("created_at", "created_by")

    def save_model(self, request, obj, form, change):
        obj.pk = None  # append-only: never overwrite a version
        obj.created_by = request.user
        super().save_model(request, obj, form, False)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SiteShare)
class SiteShareAdmin(admin.ModelAdmin):
    list_display = ("site", "weekly_share_pct")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("exam", "reader", "way", "state", "assigned_at", "started_at")
    list_filter = ("state", "way")
    readonly_fields = [f.name for f in Assignment._meta.fields]

    def has_add_permission(self, request):
        return False  # assignments go through the engine's services only


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("name", "state", "reader", "created_by", "created_at")
    list_filter = ("state",)
    readonly_fields = [f.name for f in Batch._meta.fields]


@admin.register(ReadingSession)
class ReadingSessionAdmin(admin.ModelAdmin):
    list_display = ("reader", "size", "state", "started_at", "last_activity_at", "ended_at")
    list_filter = ("state",)
    readonly_fields = [f.name for f in ReadingSession._meta.fields]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("kind", "message", "raised_at", "resolved_at", "acknowledged_by")
    list_filter = ("kind",)


@admin.register(L2Reading)
class L2ReadingAdmin(admin.ModelAdmin):
    list_display = (
        "exam",
        "reader",
        "verdict",
        "acr_right",
        "acr_left",
        "station_diagnostic",
        "submitted_at",
    )
    list_filter = ("station_diagnostic", "verdict", "status")  # "poste diagnostique" oui / non / inconnu

    def has_change_permission(self, request, obj=None):
        return False  # final readings are immutable (R-RET-2)


@admin.register(Discordance)
class DiscordanceAdmin(admin.ModelAdmin):
    list_display = ("exam", "kind", "status", "opened_at")


@admin.register(ReadingStation)
class ReadingStationAdmin(admin.ModelAdmin):
    """Declared reading stations (§9). The browser is enrolled from the station itself (link below)."""

    list_display = (
        "name",
        "site",
        "monitor_model",
        "resolution",
        "device_pixel_ratio",
        "calibration_state",
        "qa_state",
        "active",
        "enrolled_at",
    )
    list_filter = ("site", "active")
    search_fields = ("name", "monitor_model")
    readonly_fields = ("enrolled_at", "enrolled_by", "enrol_link")
    fieldsets = (
        (None, {"fields": ("name", "site", "active", "note")}),
        (_("Écran"), {"fields": ("monitor_model", "screen_width", "screen_height", "device_pixel_ratio")}),
        (
            _("Étalonnage et contrôle qualité"),
            {"fields": ("calibrated_on", "calibration_validity_days", "qa_on", "qa_validity_days")},
        ),
        (_("Navigateur du poste"), {"fields": ("enrol_link", "enrolled_at", "enrolled_by")}),
    )

    @admin.display(description=_("définition"))
    def resolution(self, obj):
        return f"{obj.screen_width} × {obj.screen_height}"

    @staticmethod
    def _due(due):
        if due is None:
            return _("non renseigné")
        if due < timezone.localdate():
            return format_html("<strong>{} {}</strong>", _("périmé depuis le"), f"{due:%d/%m/%Y}")
        return format_html("{} {}", _("jusqu'au"), f"{due:%d/%m/%Y}")

    @admin.display(description=_("étalonnage GSDF"))
    def calibration_state(self, obj):
        return self._due(obj.calibration_due)

    @admin.display(description=_("contrôle qualité"))
    def qa_state(self, obj):
        return self._due(obj.qa_due)

    @admin.display(description=_("enrôler ce navigateur"))
    def enrol_link(self, obj):
        if obj is None or obj.pk is None:
            return _("Enregistrez d'abord le poste.")
        url = reverse("readings:station_enrol", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a> — {}',
            url,
            _("Enrôler ce navigateur"),
            _("à ouvrir sur le navigateur du poste lui-même (adresse à copier si besoin)."),
        )
