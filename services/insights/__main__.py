from services.insights.bootstrap import build
from shared.http import serve

serve(build())
