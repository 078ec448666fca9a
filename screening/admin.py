from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from screening.models import (
    AuditEvent,
    DicomInstance,
    DicomNode,
    Exam,
    ExamStatusEvent,
    IngestFile,
    Participant,
    Practice,
    PracticeApiToken,
    PracticeMembership,
    ReadingCentre,
    ReadingSite,
    User,
)
from screening.services.tokens import api_token_revoke


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
    list_display = ("code", "name", "town", "home_site", "dematerialised_on", "active")


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


@admin.register(PracticeApiToken)
class PracticeApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by `manage.py issue_api_token` (shown once); here they are only seen and revoked."""

    list_display = (
        "practice",
        "name",
        "key_prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("practice",)
    readonly_fields = (
        "practice", "name", "key_prefix", "key_hash", "created_by", "created_at", "expires_at",
        "revoked_at", "last_used_at",
    )  # fmt: skip
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked tokens stay, for the record

    @admin.action(description="Révoquer les jetons sélectionnés")
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, actor=request.user)
            self.log_change(request, token, "Jeton révoqué")
            count += 1
        self.message_user(request, f"{count} jeton(s) révoqué(s).", messages.SUCCESS)


class DicomNodeForm(forms.ModelForm):
    class Meta:
        model = DicomNode
        fields = ("practice", "ae_title", "host", "description", "active")

    def clean_ae_title(self):
        title = self.cleaned_data["ae_title"].strip()
        if not title or not title.isascii() or not title.isprintable() or "\\" in title:
            raise forms.ValidationError("AE title : 1 à 16 caractères ASCII imprimables, sans « \\ ».")
        return title

    def clean(self):
        data = super().clean()
        title, host = data.get("ae_title"), data.get("host")
        if title and not host and data.get("active"):
            others = DicomNode.objects.filter(ae_title=title, host__isnull=True, active=True)
            if self.instance.pk:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                raise forms.ValidationError(
                    "Cet AE title est déjà enregistré sans adresse : précisez l'adresse IP de chaque nœud."
                )
        return data


@admin.register(DicomNode)
class DicomNodeAdmin(admin.ModelAdmin):
    """Modalities and PACS allowed to send by C-STORE (`manage.py run_dicom_scp`), by calling AE title.

    Without an address the AE title is accepted from any address; with one, only from that address.
    """

    form = DicomNodeForm
    list_display = ("ae_title", "host", "practice", "description", "active")
    list_filter = ("active", "practice")
    search_fields = ("ae_title", "description", "practice__code", "practice__name")
