//! `pinniped rank DIR…`: the flags resolved into `report::rank`'s options.

use super::args::{RankArgs, RankMetric, RankTest};
use super::error::{exit, AppError};
use crate::report::rank::{rank_cmd, RankOptions};
use crate::stats::ranks::PairTest;

pub fn rank(a: RankArgs) -> Result<u8, AppError> {
    rank_cmd(RankOptions {
        dirs: a.dirs,
        metric: match a.metric {
            RankMetric::Test => "final_test_acc",
            RankMetric::Valid => "final_valid_acc",
        },
        published: a.reference,
        against: a.against,
        alpha: a.alpha,
        test: match a.test {
            RankTest::Wilcoxon => PairTest::Wilcoxon,
            RankTest::Nemenyi => PairTest::Nemenyi,
        },
        out: a.out,
    })?;
    Ok(exit::OK)
}
