// Loading the IXFR journal at start-up (the writing side is in store_writer.cpp).
#include "store/store_internal.hpp"

namespace acmednsd::store_detail {

// Reads the journal rows. Their chain must end at the stored serial (it does unless
// another process changed the zone without a journal); then the serial this start
// serves (the index raised it past the stored one) gets an empty diff, written with
// the serial itself, so the chain reaches it and survives the next restart too.
Status load_journal(WriterContext& c, ZoneJournal& journal, std::uint32_t stored_serial,
                    std::uint32_t serving) {
  auto rows = c.db->journal_rows();
  if (!rows) return rows.error();
  std::uint32_t last_to = 0;
  bool any = false;
  for (auto& row : *rows) {
    ZoneJournal::Diff d;
    d.from_serial = row.from_serial;
    d.to_serial = row.to_serial;
    d.removed = parse_journal_text(row.removed);
    d.added = parse_journal_text(row.added);
    last_to = d.to_serial;
    any = true;
    journal.append(std::move(d));
  }
  if (any && last_to != stored_serial) journal.clear();
  if (serving == stored_serial) return ok_status();
  if (auto s = c.db->begin(); !s) return s;
  ZoneChanges none;
  if (!any || last_to != stored_serial) none.reset = true;  // start the chain over
  auto written = write_journal_row(c, none, stored_serial, serving);
  if (written && none.reset) written = write_journal_row(c, ZoneChanges{}, stored_serial, serving);
  if (written) written = c.db->set_serial(serving);
  if (written) written = c.db->commit();
  if (!written) {
    c.db->rollback();
    return written;
  }
  journal.append({stored_serial, serving, {}, {}});
  c.last_serial = serving;
  return ok_status();
}

}  // namespace acmednsd::store_detail
