"""app/db.py's compiled queries: the same rows as the peewee query they are built from."""
import pytest

from app.db import compiled, db, init_db
from app.models import Contact, Document, Person
from tests.factories import make_document, make_person

people_of = compiled(lambda contact_id, name: (
    Person.select(Person, Contact).join(Contact)
    .where((Person.contact == contact_id) & (Person.name != name) & (Person.active == True))
    .order_by(Person.id)))


def test_compiled_query_gives_the_rows_of_its_peewee_query(app):
    mine, other = make_person(name="Ana"), make_person(name="Bea")
    second = make_person(mine.contact, name="Carla")
    make_person(mine.contact, name="Dora", active=False)   # a constant of the query: filtered out

    rows = people_of(mine.contact.id, "nobody")
    assert [p.id for p in rows] == [mine.id, second.id]
    assert rows[0].contact.name == mine.contact.name   # the joined model came with the row
    assert [p.id for p in people_of(mine.contact.id, "Ana")] == [second.id]   # values change per call
    assert [p.id for p in people_of(other.contact.id, "Ana")] == [other.id]
    assert people_of.first(12345, "x") is None


def test_compiled_query_is_built_again_for_another_database(app, tmp_path):
    person = make_person(name="Ana")
    assert people_of.first(person.contact.id, "x").id == person.id
    first = db.obj
    try:
        other = init_db("sqlite:///" + str(tmp_path / "other.db"))
        with other.connection_context():
            other.create_tables([Contact, Person])
            assert people_of(person.contact.id, "x") == []   # the empty database's rows, not the first's
    finally:
        db.initialize(first)
    assert people_of.first(person.contact.id, "x").id == person.id


def test_document_for_contact_hides_drafts_and_other_contacts(app):
    person, stranger = make_person(), make_person()
    doc = make_document(person.contact)
    draft = make_document(person.contact, status="draft")
    assert Document.for_contact(person.contact, doc.id).id == doc.id
    assert Document.for_contact(person.contact, draft.id) is None
    assert Document.for_contact(stranger.contact, doc.id) is None


def test_wrong_number_of_values_is_refused(app):
    with pytest.raises(TypeError):
        people_of(1)
