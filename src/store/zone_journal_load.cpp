// Loading the IXFR journal at start-up (the writing side is in store_writer.cpp).
#include "store/store_internal.hpp"

namespace acmednsd::store_detail {

// Reads the journal rows. Their chain must end at the stored serial (it does unless
// another process changed the zone without a journal); then the serial this start
// serves (the index raised it past the stored one) gets an empty diff, written with
// the serial itself, so the chain reaches it and survives the next restart too.
Status load_journal(WriterContext& c, ZoneJournal& journal, std::uint32_t stored_serial,
                    std::uint32_t serving) {
  auto rows = c.db.prepare("SELECT from_serial, to_serial, removed, added FROM ixfr_journal ORDER BY seq");
  if (!rows) return rows.error();
  int rc = 0;
  std::uint32_t last_to = 0;
  bool any = false;
  while ((rc = rows->step()) == SQLITE_ROW) {
    ZoneJournal::Diff d;
    d.from_serial = static_cast<std::uint32_t>(rows->integer(0));
    d.to_serial = static_cast<std::uint32_t>(rows->integer(1));
    d.removed = parse_journal_text(rows->text(2));
    d.added = parse_journal_text(rows->text(3));
    last_to = d.to_serial;
    any = true;
    journal.append(std::move(d));
  }
  if (rc != SQLITE_DONE) return make_error("db_error", rows->error());
  rows->reset();
  if (any && last_to != stored_serial) journal.clear();
  if (serving == stored_serial) return ok_status();
  sqlite::Transaction txn(c.db);
  if (auto s = txn.begin(); !s) return s;
  ZoneChanges none;
  if (!any || last_to != stored_serial) none.reset = true;  // start the chain over
  if (auto s = write_journal_row(c, none, stored_serial, serving); !s) return s;
  if (none.reset) {
    if (auto s = write_journal_row(c, ZoneChanges{}, stored_serial, serving); !s) return s;
  }
  if (auto s = c.set_meta.bind(":key", "serial").bind(":value", std::to_string(serving)).run(); !s) return s;
  if (auto s = txn.commit(); !s) return s;
  journal.append({stored_serial, serving, {}, {}});
  c.last_serial = serving;
  return ok_status();
}

}  // namespace acmednsd::store_detail
