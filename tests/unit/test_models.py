from __future__ import annotations

from datetime import datetime, timezone

import pytest

import as2gw_async as gw
from as2gw_async.converter import structure, to_camel, unstructure

FULL = {
    "as2MessageId": "<90766548.41.1573209810390@as2gateway.com>",
    "persistedTimestamp": 1556797479000,
    "compressed": True,
    "encrypted": True,
    "signed": False,
    "subject": "Invoice 1",
    "receiverId": "RJ_Partner",
    "senderId": "RJ_Station",
    "transportStatusReceived": 200,
    "deliveryStatus": "Delivered",
    "mdnStatus": "Received",
    "partnerType": "Production",
    "mdnMessage": {"persistedTimestamp": 1556797480000, "mdnError": False, "content": "ok"},
    "attachments": [{"name": "file1.txt", "size": 391}, {"name": "file2.txt", "size": 3}],
}


def test_camel_case_maps_to_snake_case_fields() -> None:
    m = structure(FULL, gw.AS2Message)
    assert m.as2_message_id == "<90766548.41.1573209810390@as2gateway.com>"
    assert m.transport_status_received == 200
    assert m.delivery_status is gw.DeliveryStatus.DELIVERED
    assert m.mdn_status is gw.MdnStatus.RECEIVED
    assert m.partner_type is gw.PartnerType.PRODUCTION
    assert m.mdn_message == gw.MDNMessage(
        persisted_timestamp=1556797480000, mdn_error=False, content="ok"
    )
    assert m.attachments == (gw.Attachment("file1.txt", 391), gw.Attachment("file2.txt", 3))


def test_round_trip_gives_back_the_gateway_json() -> None:
    assert unstructure(structure(FULL, gw.AS2Message)) == FULL


def test_unknown_fields_are_ignored_and_optional_fields_may_be_missing() -> None:
    m = structure({"as2MessageId": "x", "persistedTimestamp": 1, "brandNew": [1]}, gw.AS2Message)
    assert m.subject is None
    assert m.delivery_status is None
    assert m.mdn_message is None
    assert m.attachments == ()
    assert "subject" not in unstructure(m)


def test_unknown_enum_values_are_kept_as_strings() -> None:
    m = structure({**FULL, "mdnStatus": "Quarantined", "partnerType": "Sandbox"}, gw.AS2Message)
    assert m.mdn_status == "Quarantined"
    assert m.partner_type == "Sandbox"
    assert unstructure(m)["mdnStatus"] == "Quarantined"


def test_enum_lookup_is_case_insensitive() -> None:
    assert gw.PartnerType("test") is gw.PartnerType.TEST
    assert gw.PartnerType.TEST.query_value == "test"
    assert gw.DeliveryStatus("not delivered") is gw.DeliveryStatus.NOT_DELIVERED
    with pytest.raises(ValueError, match="Sideways"):
        gw.PartnerType("Sideways")


def test_persisted_timestamp_has_a_utc_datetime_view() -> None:
    m = structure(FULL, gw.AS2Message)
    assert m.persisted_at == datetime(2019, 5, 2, 11, 44, 39, tzinfo=timezone.utc)
    assert m.mdn_message is not None
    assert m.mdn_message.persisted_at == datetime(2019, 5, 2, 11, 44, 40, tzinfo=timezone.utc)
    assert gw.AS2Message(as2_message_id="q").persisted_at is None


def test_page_of_messages() -> None:
    page = structure({"totalRecords": 10, "records": [FULL]}, gw.Page[gw.AS2Message])
    assert page.total_records == 10
    assert len(page) == 1
    assert isinstance(page.records[0], gw.AS2Message)


def test_generic_response() -> None:
    ack = structure({"message": "Successfully added a new outbound entry"}, gw.GenericResponse)
    assert ack.message == "Successfully added a new outbound entry"


def test_models_are_frozen() -> None:
    m = structure(FULL, gw.AS2Message)
    with pytest.raises(AttributeError):
        m.subject = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("snake", "camel"),
    [("as2_message_id", "as2MessageId"), ("mdn_error", "mdnError"), ("name", "name")],
)
def test_to_camel(snake: str, camel: str) -> None:
    assert to_camel(snake) == camel


def test_a_record_that_does_not_fit_raises_a_typed_error() -> None:
    with pytest.raises(gw.InvalidRecordError, match="as2MessageId is missing") as err:
        structure({"subject": "no id"}, gw.AS2Message, endpoint="GET /message/sent/{id}")
    assert err.value.endpoint == "GET /message/sent/{id}"
    with pytest.raises(gw.InvalidRecordError, match=r"attachments\[1\]\.name is missing"):
        structure({"as2MessageId": "x", "attachments": [{"name": "a"}, {}]}, gw.AS2Message)
    with pytest.raises(gw.InvalidDataError, match="totalRecords"):
        structure({"records": []}, gw.Page[gw.AS2Message])


def test_lenient_scalars_keep_reading_what_the_gateway_means() -> None:
    m = structure(
        {"as2MessageId": 12345, "persistedTimestamp": "1556797479000", "signed": "True"},
        gw.AS2Message,
    )
    assert m.as2_message_id == "12345"
    assert m.persisted_timestamp == 1556797479000
    assert m.signed is True
    assert structure({"as2MessageId": "x", "mdnStatus": "received"}, gw.AS2Message).mdn_status == (
        gw.MdnStatus.RECEIVED
    )


def test_the_cattrs_converter_uses_the_same_rules() -> None:
    from as2gw_async.converter import converter

    assert converter.structure(FULL, gw.AS2Message) == structure(FULL, gw.AS2Message)
    page = structure({"totalRecords": 1, "records": [FULL]}, gw.Page[gw.AS2Message])
    assert "badRecords" not in unstructure(page)
