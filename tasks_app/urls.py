"""Staff tasks and the restock assignee per terminal."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tasks_app.api import AssignmentViewSet, TaskViewSet

router = SimpleRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register("task-settings", AssignmentViewSet, basename="task-setting")

urlpatterns = [path("api/", include(router.urls))]
