from services.matching.bootstrap import build
from shared.http import serve

serve(build())
