from django.contrib import admin

from readings.models import Assignment, Discordance, L2Reading, ReaderProfile


@admin.register(ReaderProfile)
class ReaderProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "site", "qualified", "active", "daily_capacity")
    list_filter = ("site", "active")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("exam", "reader", "state", "assigned_at")
    list_filter = ("state",)
    readonly_fields = ("exam", "reader", "l1_radiologist", "assigned_at", "assigned_by", "why", "ended_at")


@admin.register(L2Reading)
class L2ReadingAdmin(admin.ModelAdmin):
    list_display = ("exam", "reader", "verdict", "acr_right", "acr_left", "submitted_at")

    def has_change_permission(self, request, obj=None):
        return False  # final readings are immutable (R-RET-2)


@admin.register(Discordance)
class DiscordanceAdmin(admin.ModelAdmin):
    list_display = ("exam", "kind", "status", "opened_at")
