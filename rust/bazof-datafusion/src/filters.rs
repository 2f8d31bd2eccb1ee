//! Which filters a bazof scan applies itself: equality, IN and ranges on a
//! single-column key, turned into the scan's key set and inclusive range.
//!
//! Honesty rule: `Exact` only where bazof returns exactly the rows the
//! filter keeps (=, IN, >=, <=, BETWEEN); `>` and `<` are passed down as
//! inclusive bounds and reported `Inexact`, so DataFusion filters again.
use std::cmp::Ordering;

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown};

/// Key filters accumulated from pushed-down predicates (their conjunction).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyFilter {
    /// Keys the result is limited to; None = no set filter.
    pub keys: Option<Vec<ScalarValue>>,
    /// Inclusive lower and upper bounds.
    pub min: Option<ScalarValue>,
    pub max: Option<ScalarValue>,
}

/// Key types whose text form bazof parses back to the same value and whose
/// order in bazof's key codec is DataFusion's order.
fn pushable_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// The text bazof parses the key from.
pub fn key_text(v: &ScalarValue) -> String {
    match v {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => s.clone(),
        other => other.to_string(),
    }
}

/// A predicate on the key, as far as bazof can apply it.
#[derive(Debug, Clone, PartialEq)]
enum KeyPredicate {
    In(Vec<ScalarValue>),
    Range { min: Option<ScalarValue>, max: Option<ScalarValue>, exact: bool },
}

/// Recognises predicates over the key column `key` of type `key_type`.
pub struct KeyPredicates<'a> {
    pub key: &'a str,
    pub key_type: &'a DataType,
}

impl KeyPredicates<'_> {
    fn literal(&self, e: &Expr) -> Option<ScalarValue> {
        match e {
            Expr::Literal(v, _) if !v.is_null() && &v.data_type() == self.key_type => Some(v.clone()),
            _ => None,
        }
    }

    fn is_key(&self, e: &Expr) -> bool {
        matches!(e, Expr::Column(c) if c.name == self.key)
    }

    fn predicate(&self, e: &Expr) -> Option<KeyPredicate> {
        if !pushable_type(self.key_type) {
            return None;
        }
        match e {
            // DataFusion turns short IN lists into ORs of equalities.
            Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
                match (self.predicate(left)?, self.predicate(right)?) {
                    (KeyPredicate::In(mut a), KeyPredicate::In(b)) => {
                        a.extend(b);
                        Some(KeyPredicate::In(a))
                    }
                    _ => None,
                }
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (op, v) = if self.is_key(left) {
                    (*op, self.literal(right)?)
                } else if self.is_key(right) {
                    (op.swap()?, self.literal(left)?)
                } else {
                    return None;
                };
                Some(match op {
                    Operator::Eq => KeyPredicate::In(vec![v]),
                    Operator::GtEq => KeyPredicate::Range { min: Some(v), max: None, exact: true },
                    Operator::Gt => KeyPredicate::Range { min: Some(v), max: None, exact: false },
                    Operator::LtEq => KeyPredicate::Range { min: None, max: Some(v), exact: true },
                    Operator::Lt => KeyPredicate::Range { min: None, max: Some(v), exact: false },
                    _ => return None,
                })
            }
            Expr::InList(list) if !list.negated && self.is_key(&list.expr) => {
                let values = list.list.iter().map(|e| self.literal(e)).collect::<Option<Vec<_>>>()?;
                Some(KeyPredicate::In(values))
            }
            Expr::Between(Between { expr, negated: false, low, high }) if self.is_key(expr) => {
                Some(KeyPredicate::Range { min: Some(self.literal(low)?), max: Some(self.literal(high)?), exact: true })
            }
            _ => None,
        }
    }

    /// How far bazof applies `e`.
    pub fn support(&self, e: &Expr) -> TableProviderFilterPushDown {
        match self.predicate(e) {
            None => TableProviderFilterPushDown::Unsupported,
            Some(KeyPredicate::Range { exact: false, .. }) => TableProviderFilterPushDown::Inexact,
            Some(_) => TableProviderFilterPushDown::Exact,
        }
    }

    /// The conjunction of every predicate bazof can apply among `filters`.
    pub fn combine(&self, filters: &[Expr]) -> KeyFilter {
        let mut f = KeyFilter::default();
        for p in filters.iter().filter_map(|e| self.predicate(e)) {
            match p {
                KeyPredicate::In(values) => {
                    let mut values: Vec<ScalarValue> = match f.keys.take() {
                        None => values,
                        Some(current) => current.into_iter().filter(|k| values.contains(k)).collect(),
                    };
                    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
                    values.dedup();
                    f.keys = Some(values);
                }
                KeyPredicate::Range { min, max, .. } => {
                    if let Some(min) = min {
                        f.min = Some(match f.min.take() {
                            Some(m) if m >= min => m,
                            _ => min,
                        });
                    }
                    if let Some(max) = max {
                        f.max = Some(match f.max.take() {
                            Some(m) if m <= max => m,
                            _ => max,
                        });
                    }
                }
            }
        }
        f
    }
}

impl KeyFilter {
    /// True when no key can pass (an empty set, or min > max).
    pub fn is_empty(&self) -> bool {
        if matches!(&self.keys, Some(k) if k.is_empty()) {
            return true;
        }
        matches!((&self.min, &self.max), (Some(a), Some(b)) if a > b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};

    fn preds() -> KeyPredicates<'static> {
        KeyPredicates { key: "key", key_type: &DataType::Utf8 }
    }

    #[test]
    fn support_is_honest() {
        let p = preds();
        assert_eq!(p.support(&col("key").eq(lit("a"))), TableProviderFilterPushDown::Exact);
        assert_eq!(p.support(&lit("a").eq(col("key"))), TableProviderFilterPushDown::Exact);
        assert_eq!(p.support(&col("key").in_list(vec![lit("a"), lit("b")], false)), TableProviderFilterPushDown::Exact);
        assert_eq!(p.support(&col("key").in_list(vec![lit("a")], true)), TableProviderFilterPushDown::Unsupported);
        assert_eq!(p.support(&col("key").gt_eq(lit("a"))), TableProviderFilterPushDown::Exact);
        assert_eq!(p.support(&col("key").between(lit("a"), lit("c"))), TableProviderFilterPushDown::Exact);
        assert_eq!(p.support(&col("key").gt(lit("a"))), TableProviderFilterPushDown::Inexact);
        assert_eq!(p.support(&lit("a").lt(col("key"))), TableProviderFilterPushDown::Inexact);
        assert_eq!(p.support(&col("value").eq(lit("a"))), TableProviderFilterPushDown::Unsupported);
        assert_eq!(p.support(&col("key").not_eq(lit("a"))), TableProviderFilterPushDown::Unsupported);
        assert_eq!(p.support(&col("key").eq(lit("a")).or(col("key").eq(lit("b")))), TableProviderFilterPushDown::Exact);
        assert_eq!(
            p.support(&col("key").eq(lit("a")).or(col("key").gt(lit("b")))),
            TableProviderFilterPushDown::Unsupported
        );
        assert_eq!(p.support(&col("key").eq(lit(1i64))), TableProviderFilterPushDown::Unsupported);
        assert_eq!(p.support(&col("key").eq(lit(ScalarValue::Utf8(None)))), TableProviderFilterPushDown::Unsupported);
    }

    #[test]
    fn combine_intersects() {
        let p = preds();
        let f = p.combine(&[
            col("key").in_list(vec![lit("c"), lit("a"), lit("b")], false),
            col("key").eq(lit("b")).or(col("key").eq(lit("z"))).or(col("key").eq(lit("c"))),
            col("key").eq(lit("b")).or(col("value").eq(lit("z"))), // not on the key only: ignored
            col("key").in_list(vec![lit("b"), lit("c"), lit("d")], false),
            col("key").gt_eq(lit("a")),
            col("key").gt_eq(lit("b")),
            col("key").lt_eq(lit("x")),
            col("key").lt(lit("y")),
        ]);
        assert_eq!(f.keys, Some(vec![ScalarValue::from("b"), ScalarValue::from("c")]));
        assert_eq!(f.min, Some(ScalarValue::from("b")));
        assert_eq!(f.max, Some(ScalarValue::from("x")));
        assert!(!f.is_empty());
        assert!(p.combine(&[col("key").eq(lit("a")), col("key").eq(lit("b"))]).is_empty());
        assert!(p.combine(&[col("key").gt_eq(lit("b")), col("key").lt_eq(lit("a"))]).is_empty());
    }
}
