// Loading the IXFR journal at start-up, and taking in the rows other instances write
// to a shared one (the writing side is in store_writer.cpp).
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
    last_to = row.to_serial;
    any = true;
    c.journal_seq = row.seq;
    journal.append(journal_diff(row));
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

ZoneJournal::Diff journal_diff(const JournalRow& row) {
  return {row.from_serial, row.to_serial, parse_journal_text(row.removed), parse_journal_text(row.added)};
}

void read_foreign_journal(WriterContext& c, LogBatch& batch) {
  if (!c.shared || c.journal == nullptr) return;
  auto rows = c.db->journal_rows_after(c.journal_seq);
  if (!rows) return;
  if (!rows->empty()) c.journal_seq = rows->back().seq;
  for (auto& row : *rows) batch.journal.push_back(std::move(row));
}

// The generic form (SQLite: one process, so it is not called there in serving).
Result<std::vector<JournalRow>> Db::journal_rows_after(std::int64_t seq) {
  auto rows = journal_rows();
  if (!rows) return rows.error();
  std::vector<JournalRow> out;
  for (auto& row : *rows) {
    if (row.seq > seq) out.push_back(std::move(row));
  }
  return out;
}

}  // namespace acmednsd::store_detail
