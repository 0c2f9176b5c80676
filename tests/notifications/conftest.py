"""A notification service mails an introduction for every PairFormed on its topics. On the run's shared topics it
would also mail the pairs that tests on the other worker form at the same moment, and a test counting its inbox
counted them (a CI run failed so). Each module here gets a database and topics of its own."""

from tests.support.infra import store_fixtures

notify_store, dsn, kafka = store_fixtures("notify", scope="module")
