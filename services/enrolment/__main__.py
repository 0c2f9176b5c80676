from services.enrolment.bootstrap import build
from shared.http import serve

serve(build())
