from services.notifications.bootstrap import build
from shared.http import serve

serve(build())
