from services.sessions.bootstrap import build
from shared.http import serve

serve(build())
