//! Which employees make a page of 日別データ, in each of its orders, read from an index that
//! follows the order: from a row's place ([`DailyCursor`], keyset paging) or from an offset.
//!
//! An order is one or two parts. By code, name or department it is one: the live employees by
//! that column, then by code. By 出勤 or 退勤 it is two: the employees who have the punch that
//! day, by its time then code (walked from the punches' `(company, date, kind, time)` index),
//! then those without it, by code, last whichever the direction. A page that starts from a
//! cursor reads only the rows after it, so the last page costs what the first does; an offset
//! costs a walk over every row before it, which at 100 000 employees missed 100 ms.

use loginrec_rules::PunchKind;
use sqlx::Row;

use super::{Attendance, DailyCursor, DailyFilter, DailyKey, DailyOrder};
use crate::Result;

/// One term of an order: an expression, the field of [`DailyKey`] it is compared with, and
/// whether it runs downwards.
#[derive(Clone, Copy)]
struct Term {
    expr: &'static str,
    field: Field,
    descending: bool,
}

#[derive(Clone, Copy)]
enum Field {
    Code,
    LastName,
    FirstName,
    DepartmentCode,
    At,
}

/// One part of an order: the relation it reads and its terms.
#[derive(Clone)]
struct Part {
    /// The FROM text, `employees e` and `departments d` always in it.
    from: String,
    /// Extra conditions, `AND …`, where `$DATE` stands for the business day's parameter.
    only: String,
    terms: Vec<Term>,
}

impl Part {
    fn reversed(&self) -> Part {
        let terms = self.terms.iter().map(|t| Term { descending: !t.descending, ..*t }).collect();
        Part { terms, ..self.clone() }
    }
}

/// Up to how many employees a department's 出勤 / 退勤 order is read by sorting them: past it, and
/// for the whole company, the day's punches are walked in time order instead. Walking them for
/// a small department reads the whole company's punches to find a page of its own; sorting a
/// company of 100 000 for each page took a third of a second.
const SORTED_UP_TO: i64 = 5_000;

/// The parts of an order, in the order they are shown, for a filter of `rows` employees.
fn parts(order: DailyOrder, descending: bool, held: &str, department: Option<&str>, rows: i64) -> Vec<Part> {
    let term = |expr, field, down| Term { expr, field, descending: down };
    let by_code = "employees e JOIN departments d ON d.id = e.department_id".to_string();
    match order {
        DailyOrder::Code => {
            vec![Part { from: by_code, only: String::new(), terms: vec![term("e.code", Field::Code, descending)] }]
        }
        DailyOrder::Name => vec![Part {
            from: by_code,
            only: String::new(),
            terms: vec![
                term("e.last_name", Field::LastName, descending),
                term("e.first_name", Field::FirstName, descending),
                term("e.code", Field::Code, descending),
            ],
        }],
        DailyOrder::Department => vec![Part {
            from: "departments d JOIN employees e ON e.company_id = d.company_id AND e.department_id = d.id".into(),
            only: String::new(),
            terms: vec![term("d.code", Field::DepartmentCode, descending), term("e.code", Field::Code, descending)],
        }],
        DailyOrder::ClockIn | DailyOrder::ClockOut => {
            let kind = clock_kind(order).code();
            vec![
                Part {
                    // For the company or past SORTED_UP_TO the punches drive, their index being in time order;
                    // SQLite keeps the order of CROSS JOINs: it would otherwise start from
                    // the departments or the employees, not knowing the parameters' values when
                    // it plans, and sort every row.
                    from: if department.is_none() || rows > SORTED_UP_TO {
                        format!("{held} p CROSS JOIN employees e CROSS JOIN departments d")
                    } else {
                        format!(
                            "employees e JOIN departments d ON d.id = e.department_id JOIN {held} p ON p.employee_id = e.id"
                        )
                    },
                    only: format!(
                        " AND e.id = p.employee_id AND d.id = e.department_id \
                         AND p.company_id = $1 AND p.business_date = $DATE AND p.kind = {kind}"
                    ),
                    // Equal times by code, whichever the direction.
                    terms: vec![term("p.at_ms", Field::At, descending), term("e.code", Field::Code, false)],
                },
                Part {
                    from: by_code,
                    only: format!(
                        " AND NOT EXISTS (SELECT 1 FROM {held} q WHERE q.company_id = e.company_id \
                         AND q.employee_id = e.id AND q.business_date = $DATE AND q.kind = {kind})"
                    ),
                    terms: vec![term("e.code", Field::Code, false)],
                },
            ]
        }
    }
}

fn clock_kind(order: DailyOrder) -> PunchKind {
    if order == DailyOrder::ClockIn { PunchKind::ClockIn } else { PunchKind::ClockOut }
}

/// A value of a key bound into a page's statement.
enum Value {
    Text(String),
    Int(i64),
}

fn value(key: &DailyKey, field: Field) -> Value {
    match field {
        Field::Code => Value::Text(key.code.clone()),
        Field::LastName => Value::Text(key.last_name.clone()),
        Field::FirstName => Value::Text(key.first_name.clone()),
        Field::DepartmentCode => Value::Text(key.department_code.clone()),
        // A key in the part with the punch always has its time.
        Field::At => Value::Int(key.at_ms.unwrap_or_default()),
    }
}

/// `terms > key` in the order's sense, as SQL over the parameters from `$first` on: the
/// first term's bound stands alone as well, so that both engines seek the index to it.
fn after(terms: &[Term], first: usize) -> String {
    let op = |t: &Term, strict: bool| match (t.descending, strict) {
        (false, true) => ">",
        (false, false) => ">=",
        (true, true) => "<",
        (true, false) => "<=",
    };
    let mut nested = String::new();
    for (i, t) in terms.iter().enumerate().rev() {
        let p = first + i;
        nested = if nested.is_empty() {
            format!("{} {} ${p}", t.expr, op(t, true))
        } else {
            format!("{} {} ${p} OR ({} = ${p} AND ({nested}))", t.expr, op(t, true), t.expr)
        };
    }
    let lead = &terms[0];
    format!(" AND {} {} ${first} AND ({nested})", lead.expr, op(lead, false))
}

fn order_by(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|t| format!("{} {}", t.expr, if t.descending { "DESC" } else { "ASC" }))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Attendance<'_> {
    /// The ids of the page's employees, in the page's order, among the `rows` the filter names.
    pub(super) async fn daily_page_ids(
        &self,
        company_id: i64,
        filter: &DailyFilter,
        held: &str,
        rows: i64,
    ) -> Result<Vec<i64>> {
        let department = filter.department_code.as_deref().filter(|code| !code.is_empty());
        let limit = filter.limit.unwrap_or(i64::MAX).max(0);
        let all = parts(filter.order, filter.descending, held, department, rows);
        let clock = matches!(filter.order, DailyOrder::ClockIn | DailyOrder::ClockOut);
        let mut ids = Vec::new();
        match &filter.cursor {
            None => {
                let (all, _) = self.parts_from(company_id, department, filter, all, None).await?;
                let mut skip = filter.offset.max(0);
                for (i, part) in all.iter().enumerate() {
                    let want = limit - ids.len() as i64;
                    if want <= 0
                        || (clock
                            && i > 0
                            && self.first_part_is_all(company_id, department, filter, &all[0], rows).await?)
                    {
                        break;
                    }
                    let got = self.part_ids(company_id, department, filter, part, None, want, skip).await?;
                    if got.is_empty() && skip > 0 {
                        skip = (skip - self.part_count(company_id, department, filter, part).await?).max(0);
                    } else {
                        skip = 0;
                    }
                    ids.extend(got);
                }
            }
            Some(DailyCursor::After(key)) => {
                let (all, start) = self.parts_from(company_id, department, filter, all, Some(key)).await?;
                for (i, part) in all.iter().enumerate().skip(start) {
                    let want = limit - ids.len() as i64;
                    if want <= 0
                        || (clock
                            && i > start
                            && self.first_part_is_all(company_id, department, filter, &all[0], rows).await?)
                    {
                        break;
                    }
                    let from = (i == start).then_some(key);
                    ids.extend(self.part_ids(company_id, department, filter, part, from, want, 0).await?);
                }
            }
            Some(DailyCursor::Before(key)) => {
                // Read backwards from the key, then turned round.
                let (all, start) = self.parts_from(company_id, department, filter, all, Some(key)).await?;
                for i in (0..=start).rev() {
                    let want = limit - ids.len() as i64;
                    if want <= 0 {
                        break;
                    }
                    let from = (i == start).then_some(key);
                    let part = all[i].reversed();
                    ids.extend(self.part_ids(company_id, department, filter, &part, from, want, 0).await?);
                }
                ids.reverse();
            }
        }
        Ok(ids)
    }

    /// The parts a page from `key` (or from the start) reads, and the one the key is in. By
    /// department each department is a part of its own, its employees walked by code from the
    /// `(company, department, code)` index: PostgreSQL, given the whole order at once, joined
    /// every employee to its department and sorted them for each page.
    async fn parts_from(
        &self,
        company_id: i64,
        department: Option<&str>,
        filter: &DailyFilter,
        all: Vec<Part>,
        key: Option<&DailyKey>,
    ) -> Result<(Vec<Part>, usize)> {
        if filter.order != DailyOrder::Department {
            return Ok((all, key.map_or(0, |key| part_of(filter.order, key))));
        }
        let direction = if filter.descending { "DESC" } else { "ASC" };
        let departments: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, code FROM departments WHERE company_id = $1 AND ($2 IS NULL OR code = $2) ORDER BY code {direction}"
        )))
        .bind(company_id)
        .bind(department)
        .fetch_all(&self.store.pool)
        .await?;
        let start = match key {
            None => Some(0),
            Some(key) => departments.iter().position(|(_, code)| *code == key.department_code),
        };
        let Some(start) = start else {
            // The key's department is gone or renamed: the order over all of them finds its place.
            return Ok((all, 0));
        };
        let parts = departments
            .iter()
            .map(|(id, _)| Part {
                from: "employees e JOIN departments d ON d.id = e.department_id".into(),
                // A department's id, read just above: a number, never input.
                only: format!(" AND e.department_id = {id}"),
                terms: vec![Term { expr: "e.code", field: Field::Code, descending: filter.descending }],
            })
            .collect();
        Ok((parts, start))
    }

    #[allow(clippy::too_many_arguments)]
    async fn part_ids(
        &self,
        company_id: i64,
        department: Option<&str>,
        filter: &DailyFilter,
        part: &Part,
        from: Option<&DailyKey>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<i64>> {
        let dated = part.only.contains("$DATE");
        let keys_from = if dated { 6 } else { 5 };
        let place = match from {
            Some(_) => after(&part.terms, keys_from),
            None => String::new(),
        };
        // Every piece is one of a few constant texts, never input.
        let sql = format!(
            "SELECT e.id AS id FROM {} WHERE e.company_id = $1 AND e.deleted_at_ms IS NULL \
             AND ($2 IS NULL OR d.code = $2){}{place} ORDER BY {} LIMIT $3 OFFSET $4",
            part.from,
            part.only.replace("$DATE", "$5"),
            order_by(&part.terms),
        );
        let mut query =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(department).bind(limit).bind(offset);
        if dated {
            query = query.bind(filter.date.to_string());
        }
        if let Some(key) = from {
            for term in &part.terms {
                query = match value(key, term.field) {
                    Value::Text(text) => query.bind(text),
                    Value::Int(n) => query.bind(n),
                };
            }
        }
        query.fetch_all(&self.store.pool).await?.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Whether the first part of an order holds every row of the filter, the next part then
    /// being empty: counted, because finding the days without the punch means trying every
    /// employee in turn (a third of a second at 100 000 on PostgreSQL) when nearly all have it.
    async fn first_part_is_all(
        &self,
        company_id: i64,
        department: Option<&str>,
        filter: &DailyFilter,
        first: &Part,
        rows: i64,
    ) -> Result<bool> {
        Ok(self.part_count(company_id, department, filter, first).await? >= rows)
    }

    /// How many rows a part has in all: where an offset goes past it into the next.
    async fn part_count(
        &self,
        company_id: i64,
        department: Option<&str>,
        filter: &DailyFilter,
        part: &Part,
    ) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE e.company_id = $1 AND e.deleted_at_ms IS NULL \
             AND ($2 IS NULL OR d.code = $2){}",
            part.from,
            part.only.replace("$DATE", "$3"),
        );
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(department);
        if part.only.contains("$DATE") {
            query = query.bind(filter.date.to_string());
        }
        Ok(query.fetch_one(&self.store.pool).await?)
    }
}

/// Which part of its order a row's key falls in.
fn part_of(order: DailyOrder, key: &DailyKey) -> usize {
    match order {
        DailyOrder::ClockIn | DailyOrder::ClockOut if key.at_ms.is_none() => 1,
        _ => 0,
    }
}
