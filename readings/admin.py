from django.contrib import admin

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
    list_display = ("exam", "reader", "verdict", "acr_right", "acr_left", "submitted_at")

    def has_change_permission(self, request, obj=None):
        return False  # final readings are immutable (R-RET-2)


@admin.register(Discordance)
class DiscordanceAdmin(admin.ModelAdmin):
    list_display = ("exam", "kind", "status", "opened_at")
