"""Every Tandem service, declared once. The CLI, the platform script, AsyncAPI generation, topics and the
subscriber docs iterate over this list; a new service is one more line here."""

from services.enrolment.bootstrap import SPEC as ENROLMENT
from services.insights.bootstrap import SPEC as INSIGHTS
from services.matching.bootstrap import SPEC as MATCHING
from services.notifications.bootstrap import SPEC as NOTIFICATIONS
from services.sessions.bootstrap import SPEC as SESSIONS

SERVICES = (ENROLMENT, MATCHING, SESSIONS, INSIGHTS, NOTIFICATIONS)
