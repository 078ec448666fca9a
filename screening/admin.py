from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from screening.models import (
    AuditEvent,
    DicomInstance,
    Exam,
    ExamStatusEvent,
    IngestFile,
    Participant,
    Practice,
    PracticeMembership,
    ReadingCentre,
    ReadingSite,
    User,
)


class MembershipInline(admin.TabularInline):
    model = PracticeMembership
    extra = 0


@admin.register(User)
class L2UserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Plateforme L2", {"fields": ("title", "rpps", "centre_role")}),)
    list_display = ("username", "last_name", "first_name", "centre_role", "is_active")
    inlines = [MembershipInline]


admin.site.register(ReadingCentre)
admin.site.register(ReadingSite)


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "town", "dematerialised_on", "active")


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    search_fields = ("programme_id", "last_name")
    list_display = ("programme_id", "last_name", "first_name", "birth_date")


class ReadOnlyHistory(admin.TabularInline):
    model = ExamStatusEvent
    extra = 0
    can_delete = False
    readonly_fields = ("from_state", "to_state", "actor", "reason", "at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ("pk", "participant", "practice", "mammogram_date", "state", "due_at")
    list_filter = ("state", "practice", "medium")
    readonly_fields = ("state", "state_changed_at", "state_reason")  # states change only through services
    inlines = [ReadOnlyHistory]


@admin.register(DicomInstance)
class DicomInstanceAdmin(admin.ModelAdmin):
    list_display = ("sop_uid", "exam", "slot", "laterality", "view", "stored_at")
    readonly_fields = [f.name for f in DicomInstance._meta.fields]


@admin.register(IngestFile)
class IngestFileAdmin(admin.ModelAdmin):
    list_display = ("original_name", "exam", "state", "reason_code", "received_at")
    list_filter = ("state", "reason_code")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "exam", "object_ref")
    list_filter = ("action",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
