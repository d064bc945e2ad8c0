//! The aeon/sktime `.ts` reader: the shipped archive sets pinned against aeon's
//! `load_from_ts_file`, every header tag and data layout, the length and missing-value
//! policies, one error with file, line and column for each malformed case, and a fuzz property.
//!
//! The pinned numbers come from `tests/fixtures/ts_reference.py` (aeon 1.6.0); the snippet
//! that produced each is in the comment next to it.

mod common;

use std::path::{Path, PathBuf};

use common::{pinniped, repo, write};
use pinniped::data::ts::{self, TsData};
use pinniped::data::{load_dataset, read_table, DataError, Format};
use pinniped::data::{LengthPolicy, MissingPolicy, TargetLength};
use proptest::prelude::*;

fn aeon(name: &str) -> PathBuf {
    repo().join("data/aeon").join(name)
}

fn read(path: &Path) -> TsData {
    ts::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The one-line message of a failed read, checked to name `file:line:` and `column col`.
fn error_at(result: Result<impl std::fmt::Debug, DataError>, file: &str, line: usize, col: Option<usize>) -> String {
    let err = result.expect_err("expected an error");
    let text = err.to_string();
    assert!(text.contains(&format!("{file}:{line}: ")), "lacks {file}:{line}: {text}");
    if let Some(col) = col {
        assert!(text.contains(&format!(": column {col}: ")), "lacks column {col}: {text}");
    }
    assert!(!text.contains('\n'), "not one line: {text}");
    text
}

/// Left-to-right sum of every value, case after case, channel after channel (as the fixture).
fn total(data: &TsData) -> f64 {
    data.cases.iter().flat_map(|c| c.values.iter()).fold(0.0, |s, v| s + v)
}

struct Pinned {
    file: &'static str,
    cases: usize,
    channels: usize,
    lengths: (usize, usize),
    /// aeon's `class_values` (aeon lower-cases them; pinniped keeps the file's case).
    classes: &'static [&'static str],
    y0: &'static str,
    x00: [f64; 2],
    sum0: f64,
    total: f64,
}

/// `ts_reference.py`'s first loop: `load_from_ts_file(path, return_meta_data=True)`, then
/// `len(X)`, `X[0].shape[0]`, min/max of `c.shape[1]`, `meta['class_values']`, `y[0]`,
/// `X[0][0][:2]`, and sums of `X[0]` and of all of `X` added left to right.
const PINNED: &[Pinned] = &[
    Pinned {
        file: "ACSF1_TEST.ts.gz",
        cases: 100,
        channels: 1,
        lengths: (1460, 1460),
        classes: &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        y0: "9",
        x00: [-0.57796699, -0.57796699],
        sum0: -2.2499999665637205e-06,
        total: 2.1894555230939083e-05,
    },
    Pinned {
        file: "ACSF1_TRAIN.ts.gz",
        cases: 100,
        channels: 1,
        lengths: (1460, 1460),
        classes: &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        y0: "9",
        x00: [-0.58475375, -0.58475375],
        sum0: 6.399999888939689e-07,
        total: -1.9099405469402697e-05,
    },
    Pinned {
        file: "ArrowHead_TEST.ts.gz",
        cases: 175,
        channels: 1,
        lengths: (251, 251),
        classes: &["0", "1", "2"],
        y0: "0",
        x00: [-1.9077772, -1.9048903],
        sum0: 4.199998904219626e-08,
        total: 1.8629071625309024e-06,
    },
    Pinned {
        file: "ArrowHead_TRAIN.ts.gz",
        cases: 36,
        channels: 1,
        lengths: (251, 251),
        classes: &["0", "1", "2"],
        y0: "0",
        x00: [-1.9630089, -1.9578249],
        sum0: 2.0980000825510103e-07,
        total: 9.198898971440883e-07,
    },
    Pinned {
        file: "BasicMotions_TEST.ts.gz",
        cases: 40,
        channels: 6,
        lengths: (100, 100),
        classes: &["standing", "running", "walking", "badminton"],
        y0: "standing",
        x00: [-0.740653, -0.740653],
        sum0: -35.25988999999999,
        total: -278.36259900000846,
    },
    Pinned {
        file: "BasicMotions_TRAIN.ts.gz",
        cases: 40,
        channels: 6,
        lengths: (100, 100),
        classes: &["standing", "running", "walking", "badminton"],
        y0: "standing",
        x00: [0.079106, 0.079106],
        sum0: 17.902277999999995,
        total: 646.1844409999959,
    },
    Pinned {
        file: "GunPoint_TEST.ts.gz",
        cases: 150,
        channels: 1,
        lengths: (150, 150),
        classes: &["1", "2"],
        y0: "1",
        x00: [-1.1250133, -1.1313383],
        sum0: -4.200001657572727e-08,
        total: 1.3166502599304408e-06,
    },
    Pinned {
        file: "GunPoint_TRAIN.ts.gz",
        cases: 50,
        channels: 1,
        lengths: (150, 150),
        classes: &["1", "2"],
        y0: "2",
        x00: [-0.6478854, -0.64199155],
        sum0: -6.000001240291652e-08,
        total: -1.4859001498113145e-06,
    },
    Pinned {
        file: "ItalyPowerDemand_TEST.ts.gz",
        cases: 1029,
        channels: 1,
        lengths: (24, 24),
        classes: &["1", "2"],
        y0: "2",
        x00: [0.47297301, -0.39603003],
        sum0: -9.99999860695766e-10,
        total: 2.7849257429784016e-06,
    },
    Pinned {
        file: "ItalyPowerDemand_TRAIN.ts.gz",
        cases: 67,
        channels: 1,
        lengths: (24, 24),
        classes: &["1", "2"],
        y0: "1",
        x00: [-0.71051757, -1.1833204],
        sum0: -2.4999999459485167e-08,
        total: -7.096000098627542e-07,
    },
    Pinned {
        file: "JapaneseVowels_TEST.ts.gz",
        cases: 370,
        channels: 12,
        lengths: (7, 29),
        classes: &["1", "2", "3", "4", "5", "6", "7", "8", "9"],
        y0: "1",
        x00: [1.635533, 1.547694],
        sum0: 14.793380000000004,
        total: -2146.513429999953,
    },
    Pinned {
        file: "JapaneseVowels_TRAIN.ts.gz",
        cases: 270,
        channels: 12,
        lengths: (7, 26),
        classes: &["1", "2", "3", "4", "5", "6", "7", "8", "9"],
        y0: "1",
        x00: [1.860936, 1.891651],
        sum0: 7.995595999999981,
        total: -1057.4523030000091,
    },
    Pinned {
        file: "OSULeaf_TEST.ts.gz",
        cases: 242,
        channels: 1,
        lengths: (427, 427),
        classes: &["1", "2", "3", "4", "5", "6"],
        y0: "5",
        x00: [1.3045772, 1.2161866],
        sum0: 3.05980001558126e-07,
        total: -7.595839264240567e-07,
    },
    Pinned {
        file: "OSULeaf_TRAIN.ts.gz",
        cases: 200,
        channels: 1,
        lengths: (427, 427),
        classes: &["1", "2", "3", "4", "5", "6"],
        y0: "6",
        x00: [0.55067091, 0.46471588],
        sum0: 2.399961673837936e-09,
        total: -6.488060227738401e-06,
    },
    Pinned {
        file: "PickupGestureWiimoteZ_TEST.ts.gz",
        cases: 50,
        channels: 1,
        lengths: (37, 324),
        classes: &["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
        y0: "1",
        x00: [0.885, 0.885],
        sum0: 245.84799999999981,
        total: 6279.21200000003,
    },
    Pinned {
        file: "PickupGestureWiimoteZ_TRAIN.ts.gz",
        cases: 50,
        channels: 1,
        lengths: (29, 361),
        classes: &["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
        y0: "1",
        x00: [1.0, 1.0],
        sum0: 318.68699999999956,
        total: 6394.829000000083,
    },
];

#[test]
fn shipped_archive_files_read_as_aeon_reads_them() {
    let shipped = std::fs::read_dir(repo().join("data/aeon")).unwrap().count();
    assert_eq!(shipped, PINNED.len(), "every shipped file is pinned");
    for p in PINNED {
        let d = read(&aeon(p.file));
        let f = p.file;
        assert_eq!(d.cases.len(), p.cases, "{f}: cases");
        assert_eq!(d.channels, p.channels, "{f}: channels");
        assert_eq!(d.length_range(), p.lengths, "{f}: lengths");
        let lower: Vec<String> = d.classes.iter().map(|c| c.to_lowercase()).collect();
        assert_eq!(lower, p.classes, "{f}: declared classes in order");
        assert_eq!(d.labels[0].to_lowercase(), p.y0, "{f}: first label");
        assert_eq!(d.cases[0].values[..2], p.x00, "{f}: first values");
        let sum0 = d.cases[0].values.iter().fold(0.0, |s, v| s + v);
        assert_eq!(sum0.to_bits(), p.sum0.to_bits(), "{f}: sum of case 0 ({sum0} vs {})", p.sum0);
        assert_eq!(total(&d).to_bits(), p.total.to_bits(), "{f}: sum of all ({} vs {})", total(&d), p.total);
        assert_eq!(d.first_missing, None, "{f}: no missing values");
        assert!(d.cases.iter().all(|c| c.values.len() == c.length * d.channels), "{f}: channels × length");
    }
    // pinniped keeps the declared case of labels (aeon lower-cases them).
    assert_eq!(read(&aeon("BasicMotions_TRAIN.ts.gz")).classes, ["Standing", "Running", "Walking", "Badminton"]);
}

#[test]
fn multivariate_rows_are_channels_concatenated_per_sample() {
    let train = aeon("BasicMotions_TRAIN.ts.gz");
    let d = load_dataset(&train, Some(&aeon("BasicMotions_TEST.ts.gz")), None, None).unwrap();
    assert_eq!(d.cols, 600, "6 channels × 100 values");
    assert_eq!(d.classes, ["Standing", "Running", "Walking", "Badminton"], "@classLabel order");
    assert_eq!(d.train.rows, 40);
    assert_eq!(d.test.as_ref().unwrap().rows, 40);
    let raw = read(&train);
    assert_eq!(d.train.x[..600], raw.cases[0].values[..]);
    // Channel 2 starts at value 101 of the row: the first line's text after its first ':'.
    let text = String::from_utf8(
        std::io::Read::bytes(flate2::read::GzDecoder::new(std::fs::File::open(&train).unwrap()))
            .map(Result::unwrap)
            .collect(),
    )
    .unwrap();
    let first_row = text.lines().find(|l| !l.starts_with(['#', '@']) && !l.trim().is_empty()).unwrap();
    let channel2: f64 = first_row.split(':').nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    assert_eq!(d.train.x[100], channel2);
    assert_eq!(d.train.y[0], 0, "the first case is Standing");
}

#[test]
fn equal_length_univariate_sets_load_with_declared_class_order() {
    for (name, cols, classes) in [
        ("GunPoint", 150, 2),
        ("ArrowHead", 251, 3),
        ("ItalyPowerDemand", 24, 2),
        ("OSULeaf", 427, 6),
        ("ACSF1", 1460, 10),
    ] {
        let train = aeon(&format!("{name}_TRAIN.ts.gz"));
        let test = aeon(&format!("{name}_TEST.ts.gz"));
        let d = load_dataset(&train, Some(&test), None, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.cols, cols, "{name}");
        assert_eq!(d.classes.len(), classes, "{name}");
        assert_eq!(Format::guess(&train), Format::Ts, "{name}");
    }
}

#[test]
fn unequal_lengths_are_refused_naming_the_length_policy() {
    for (file, line) in [("JapaneseVowels_TRAIN.ts.gz", 17), ("PickupGestureWiimoteZ_TRAIN.ts.gz", 115)] {
        let m = error_at(read_table(&aeon(file), None, None), file, line, None);
        assert!(m.contains("unequal lengths") && m.contains("length = "), "{file}: {m}");
    }
}

/// `ts_reference.py`'s last loop: `Padder()`, `Truncator()` and `Resizer(resized_length=100)`
/// from `aeon.transformations.collection.unequal_length` on PickupGestureWiimoteZ_TRAIN,
/// then `Xt.shape`, the left-to-right sum, `Xt[0, 0, -1]` and `Xt[1, 0, 7]`.
#[test]
fn length_policies_match_aeon_padder_truncator_and_resizer() {
    let path = aeon("PickupGestureWiimoteZ_TRAIN.ts.gz");
    for (name, policy, target, width, sum, x0_last, x1_7) in [
        ("pad", LengthPolicy::Pad, TargetLength::Longest, 361, 6394.829000000083, 0.0, 1.0),
        ("truncate", LengthPolicy::Truncate, TargetLength::Shortest, 29, 1378.1139999999987, 0.962, 1.0),
        ("resample", LengthPolicy::Resample, TargetLength::Exactly(100), 100, 4319.0507070706935, 0.962, 1.0),
    ] {
        let t = read(&path).to_table(MissingPolicy::Error, policy, target).unwrap();
        assert_eq!((t.rows, t.cols), (50, width), "{name}");
        let got = t.values.iter().fold(0.0, |s, v| s + v);
        // np.interp and the index-scale interpolation may differ in the last bits.
        assert!((got - sum).abs() <= 1e-9 * sum.abs(), "{name}: sum {got} vs aeon {sum}");
        assert!((t.values[width - 1] - x0_last).abs() < 1e-12, "{name}: last of case 0");
        assert!((t.values[width + 7] - x1_7).abs() < 1e-12, "{name}: value 8 of case 1");
    }
    // Pad to a length shorter than the longest series cannot work; the error names the case.
    let m = error_at(
        read(&path).to_table(MissingPolicy::Error, LengthPolicy::Pad, TargetLength::Exactly(100)),
        "PickupGestureWiimoteZ_TRAIN.ts.gz",
        114,
        None,
    );
    assert!(m.contains("truncate") && m.contains("100"), "{m}");
    let m = error_at(
        read(&path).to_table(MissingPolicy::Error, LengthPolicy::Truncate, TargetLength::Longest),
        "PickupGestureWiimoteZ_TRAIN.ts.gz",
        114,
        None,
    );
    assert!(m.contains("fewer than the target length 361"), "{m}");
}

const MULTI: &str = "# a comment\n\
    @PROBLEMNAME Demo\n\
    @timestamps FALSE\n\
    @Missing true\n\
    @univariate false\n\
    @dimensions 2\n\
    @equallength false\n\
    @classlabel true up down\n\
    @targetLabel false\n\
    \n\
    @DATA\n\
    1,2,?:4,5,6:down\n\
    # between rows\n\
    \n\
    7,8:NaN,10:up\r\n";

#[test]
fn every_header_tag_any_case_multivariate_unequal_and_missing() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["m.ts", "m.ts.gz"] {
        let bytes = if name.ends_with(".gz") { gzip(MULTI.as_bytes()) } else { MULTI.as_bytes().to_vec() };
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let d = read(&path);
        assert_eq!(d.problem_name.as_deref(), Some("Demo"), "{name}");
        assert_eq!(d.classes, ["up", "down"], "{name}");
        assert_eq!(d.labels, ["down", "up"], "{name}");
        assert_eq!(d.channels, 2, "{name}");
        assert_eq!(d.cases.iter().map(|c| (c.line, c.length)).collect::<Vec<_>>(), [(12, 3), (15, 2)], "{name}");
        assert_eq!(d.first_missing, Some((12, 5)), "{name}: the '?' on line 12, column 5");
        let v = &d.cases[0].values;
        assert_eq!((v[0], v[1], v[3], v[5]), (1.0, 2.0, 4.0, 6.0), "{name}");
        assert!(v[2].is_nan() && d.cases[1].values[2].is_nan(), "{name}");

        // Interpolate (nearest at the ends), then pad to the longest: channels back to back.
        let t = read(&path).to_table(MissingPolicy::Interpolate, LengthPolicy::Pad, TargetLength::Longest).unwrap();
        assert_eq!((t.rows, t.cols), (2, 6), "{name}");
        assert_eq!(t.values, [1.0, 2.0, 2.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.0, 10.0, 10.0, 0.0], "{name}");
        assert_eq!(t.declared_classes.as_deref(), Some(&["up".to_string(), "down".to_string()][..]));
        let t = read(&path).to_table(MissingPolicy::Zero, LengthPolicy::Truncate, TargetLength::Shortest).unwrap();
        assert_eq!(t.values, [1.0, 2.0, 4.0, 5.0, 7.0, 8.0, 0.0, 10.0], "{name}");

        // The unwired default refuses missing values first, pointing at the value.
        let m = error_at(read_table(&path, None, None), name, 12, Some(5));
        assert!(m.contains("missing = "), "{m}");
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const HEAD: &str = "@problemName p\n@timeStamps false\n@missing false\n@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel true a b\n@data\n";

/// A malformed case: name, file text, line, column (if the error has one), words of the message.
type Malformed = (&'static str, &'static str, usize, Option<usize>, &'static [&'static str]);

/// Every malformed case the reader must report (line 0: the file as a whole).
const MALFORMED: &[Malformed] = &[
    ("empty file", "", 0, None, &["empty"]),
    ("only comments", "# x\n# y\n", 2, None, &["before any @data"]),
    ("no @data", "@problemName p\n@classLabel true a b\n", 2, None, &["before any @data"]),
    ("data before @data", "@classLabel true a b\n1,2,3:a\n@data\n", 2, Some(1), &["before @data"]),
    ("unknown tag", "@problemName p\n@serieslenght 3\n", 2, Some(1), &["unknown header tag", "@serieslength"]),
    ("tag after @data", "@classLabel true a b\n@data\n1,2:a\n  @missing true\n", 4, Some(3), &["after @data"]),
    ("tag twice", "@missing false\n@MISSING true\n", 2, Some(1), &["twice", "line 1"]),
    ("bad boolean", "@missing maybe\n", 1, Some(10), &["true or false", "maybe"]),
    ("boolean without value", "@univariate\n", 1, Some(1), &["needs true or false"]),
    ("two values", "@equalLength true false\n", 1, Some(19), &["only"]),
    ("timestamps", "@timeStamps true\n", 1, Some(13), &["not supported"]),
    ("regression", "@targetLabel true\n", 1, Some(14), &["regression"]),
    ("unlabelled", "@classLabel false\n", 1, Some(13), &["no class labels"]),
    ("no labels declared", "@classLabel true\n", 1, Some(1), &["lists no labels"]),
    ("label declared twice", "@classLabel true a b a\n", 1, Some(22), &["twice"]),
    ("no @classLabel", "@problemName p\n@data\n1:a\n", 2, None, &["no @classLabel"]),
    ("bad dimensions", "@dimensions two\n", 1, Some(13), &["whole number"]),
    ("zero series length", "@seriesLength 0\n", 1, Some(15), &["at least 1"]),
    (
        "univariate with dimensions",
        "@univariate true\n@dimensions 3\n@classLabel true a\n@data\n",
        2,
        None,
        &["contradicts"],
    ),
    ("@data with a value", "@classLabel true a\n@data 1,2:a\n", 2, Some(7), &["no value"]),
    ("no data rows", "@classLabel true a b\n@data\n\n", 3, None, &["no data rows"]),
    ("undeclared label", "@classLabel true a b\n@data\n1,2:a\n3,4: c\n", 4, Some(6), &["'c'", "line 1", "a, b"]),
    ("empty label", "@classLabel true a b\n@data\n1,2:\n", 3, Some(5), &["empty"]),
    ("no colon", "@classLabel true a b\n@data\n1,2,3\n", 3, Some(1), &["no ':'"]),
    (
        "non-numeric",
        "@classLabel true a b\n@data\n1,2:a\n1,x2:b\n",
        4,
        Some(3),
        &["channel 1, value 2", "not a number", "x2"],
    ),
    ("infinite", "@classLabel true a b\n@data\n1,inf:a\n", 3, Some(3), &["infinite"]),
    ("empty value", "@classLabel true a b\n@data\n1,,2:a\n", 3, Some(3), &["value 2 is empty"]),
    (
        "channels disagree",
        "@classLabel true a b\n@data\n1,2:3,4:a\n1,2:b\n",
        4,
        Some(1),
        &["1 channels", "first row has 2"],
    ),
    (
        "channel count vs @dimensions",
        "@dimensions 3\n@classLabel true a\n@data\n1:2:a\n",
        4,
        Some(1),
        &["2 channels", "@dimensions on line 1 says 3"],
    ),
    (
        "univariate but two channels",
        "@univariate true\n@classLabel true a\n@data\n1:2:a\n",
        4,
        Some(1),
        &["@univariate true on line 1"],
    ),
    (
        "channel lengths differ in a case",
        "@classLabel true a b\n@data\n1,2:3,4,5:a\n",
        3,
        Some(5),
        &["channel 2 has 3 values but channel 1 has 2"],
    ),
    ("series length vs header", HEAD_ROWS_SHORT, 9, Some(1), &["@seriesLength on line 6 says 3"]),
    (
        "unequal but declared equal",
        "@equalLength true\n@classLabel true a b\n@data\n1,2:a\n1,2,3:b\n",
        5,
        Some(1),
        &["@equalLength true", "line 4"],
    ),
];

const HEAD_ROWS_SHORT: &str = concat!(
    "@problemName p\n@timeStamps false\n@missing false\n@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel true a b\n@data\n",
    "1,2:a\n"
);

#[test]
fn each_malformed_case_gives_one_error_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for &(name, text, line, col, words) in MALFORMED {
        let path = write(dir.path(), "bad.ts", text);
        let err = ts::read(&path).expect_err(name);
        let m = err.to_string();
        assert!(m.starts_with(&path.display().to_string()), "{name}: names the file: {m}");
        if line > 0 {
            assert_eq!(err.line(), Some(line), "{name}: {m}");
            assert!(m.contains(&format!("bad.ts:{line}: ")), "{name}: {m}");
        }
        if let Some(col) = col {
            assert!(m.contains(&format!(":{line}: column {col}: ")), "{name}: column {col}: {m}");
        }
        for w in words {
            assert!(m.contains(w), "{name}: lacks '{w}': {m}");
        }
        assert!(!m.contains('\n'), "{name}: one line: {m}");
        // The same error through the table reader.
        assert_eq!(read_table(&path, None, None).unwrap_err().to_string(), m, "{name}");
    }
    // A label matches its declaration in any case (aeon lower-cases both) and takes its spelling.
    let path = write(dir.path(), "c.ts", "@classLabel true Up down\n@data\n1:up\n2:DOWN\n3:Up\n");
    assert_eq!(ts::read(&path).unwrap().labels, ["Up", "down", "Up"]);
    // `@missing false` is not enforced (as in aeon): the value is missing all the same.
    let path = write(dir.path(), "m.ts", "@missing false\n@classLabel true a b\n@data\n1,?:a\n");
    assert_eq!(ts::read(&path).unwrap().first_missing, Some((4, 3)));
    // A complete, well-formed header with rows of the declared length reads.
    let good = write(dir.path(), "good.ts", &format!("{HEAD}1,2,3:a\n4,5,6:b\n"));
    let t = read_table(&good, None, None).unwrap();
    assert_eq!((t.rows, t.cols, t.values.len()), (2, 3, 6));
}

#[test]
fn every_bad_row_is_reported_up_to_a_limit_as_in_the_other_readers() {
    let dir = tempfile::tempdir().unwrap();
    // Two bad rows among good ones: both are named, with their lines, in one error.
    let path = write(dir.path(), "two.ts", &format!("{HEAD}1,2,3:a\n1,x,3:a\n4,5,6:b\n7,8,9:zz\n"));
    let m = ts::read(&path).unwrap_err().to_string();
    let (bad_value, bad_label) = (HEAD.lines().count() + 2, HEAD.lines().count() + 4);
    assert!(m.contains(&format!("two.ts:{bad_value}: ")), "the bad value's row: {m}");
    assert!(m.contains(&format!("two.ts:{bad_label}: ")), "the undeclared label's row: {m}");
    assert!(m.contains("2 problems"), "counted: {m}");
    // Many bad rows: the first ones, then how many more.
    let rows: String = (0..50).map(|_| "1,x,3:a\n").collect();
    let path = write(dir.path(), "many.ts", &format!("{HEAD}{rows}"));
    let m = ts::read(&path).unwrap_err().to_string();
    assert_eq!(m.lines().filter(|l| l.contains("many.ts:")).count(), pinniped::data::MAX_REPORTED, "{m}");
    assert!(m.contains("and 30 more problems"), "{m}");
}

#[test]
fn format_ts_is_guessed_from_the_name_and_accepted_by_name() {
    for (name, f) in
        [("a/X_TRAIN.ts", Format::Ts), ("X.TS.GZ", Format::Ts), ("X_TRAIN.tsv", Format::Ucr), ("its", Format::Ucr)]
    {
        assert_eq!(Format::guess(Path::new(name)), f, "{name}");
    }
    assert_eq!("ts".parse::<Format>().unwrap(), Format::Ts);
    assert_eq!(Format::Ts.to_string(), "ts");
    let dir = tempfile::tempdir().unwrap();
    // A .ts file under another name reads with the format given explicitly.
    let path = write(dir.path(), "data.txt", &format!("{HEAD}1,2,3:a\n4,5,6:b\n"));
    assert_eq!(read_table(&path, Some(Format::Ts), None).unwrap().rows, 2);
    let m = read_table(&path, Some(Format::Ts), Some("c")).unwrap_err().to_string();
    assert!(m.contains("last ':'-field"), "{m}");
}

#[test]
fn train_and_sweep_accept_ts_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(aeon("GunPoint_TRAIN.ts.gz"))
        .arg("--test")
        .arg(aeon("GunPoint_TEST.ts.gz"))
        .args(["--epochs", "2", "--hidden", "4", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert!(out.join("metrics.csv").is_file());
    let sweep = write(
        tmp.path(),
        "s.toml",
        &format!(
            "name = \"ts\"\n[data]\ntrain = {:?}\ntest = {:?}\nformat = \"ts\"\nreserve_every = 4\n[train]\nepochs = 1\nhidden = [4]\n[sweep]\nmomentum = [0.0, 0.5]\n",
            aeon("ItalyPowerDemand_TRAIN.ts.gz").display().to_string(),
            aeon("ItalyPowerDemand_TEST.ts.gz").display().to_string()
        ),
    );
    pinniped()
        .args(["run", "-q", "--fake-trainer", "--out"])
        .arg(tmp.path().join("sweep"))
        .arg(&sweep)
        .assert()
        .success();
    // Unequal lengths: refused with exit code 2 and the line.
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(aeon("JapaneseVowels_TRAIN.ts.gz"))
        .args(["--epochs", "1", "--out"])
        .arg(tmp.path().join("jv"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("JapaneseVowels_TRAIN.ts.gz:17:"));
}

/// A well-formed file from generated cases; `None` values are written as `?`.
fn ts_text(cases: &[(Vec<Vec<Option<f64>>>, bool)], channels: usize) -> String {
    let mut s = format!("@problemName gen\n@missing true\n@univariate {}\n@dimensions {channels}\n@equalLength false\n@classLabel true p q\n@data\n", channels == 1);
    for (case, up) in cases {
        let chans: Vec<String> = case
            .iter()
            .map(|c| c.iter().map(|v| v.map_or("?".to_string(), |v| format!("{v:?}"))).collect::<Vec<_>>().join(","))
            .collect();
        s.push_str(&format!("{}:{}\n", chans.join(":"), if *up { "p" } else { "q" }));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Generated files read back exactly: same values (missing as NaN), lengths and labels.
    #[test]
    fn generated_files_read_back_exactly(
        channels in 1usize..4,
        cases in prop::collection::vec((1usize..6, prop::collection::vec(prop::option::weighted(0.9, -1e6f64..1e6), 15), any::<bool>()), 1..6),
    ) {
        let built: Vec<(Vec<Vec<Option<f64>>>, bool)> = cases.iter().map(|(len, pool, up)| {
            ((0..channels).map(|c| (0..*len).map(|i| pool[(c * 5 + i) % pool.len()]).collect()).collect(), *up)
        }).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "g.ts", &ts_text(&built, channels));
        let d = ts::read(&path).unwrap();
        prop_assert_eq!(d.channels, channels);
        prop_assert_eq!(d.cases.len(), built.len());
        for ((case, up), (read_case, label)) in built.iter().zip(d.cases.iter().zip(&d.labels)) {
            prop_assert_eq!(label, if *up { "p" } else { "q" });
            let flat: Vec<Option<f64>> = case.iter().flatten().copied().collect();
            prop_assert_eq!(read_case.values.len(), flat.len());
            for (v, w) in flat.iter().zip(&read_case.values) {
                match v {
                    Some(v) => prop_assert_eq!(v.to_bits(), w.to_bits()),
                    None => prop_assert!(w.is_nan()),
                }
            }
        }
        // Interpolating and resampling always gives complete rows of the target width.
        let t = d.to_table(MissingPolicy::Zero, LengthPolicy::Resample, TargetLength::Exactly(7)).unwrap();
        prop_assert_eq!(t.cols, 7 * channels);
        prop_assert!(t.values.iter().all(|v| v.is_finite()));
    }

    /// Any mutation of a valid file gives a result or an error whose every line names the file
    /// (one line per bad row, up to a limit, as the UCR and ARFF readers report), never a panic.
    #[test]
    fn mutated_files_never_panic(at in 0usize..400, len in 0usize..8, insert in "[0-9,:?@#a-zA-Z .\\-\n]{0,8}") {
        let mut text = MULTI.to_string();
        let at = at.min(text.len());
        let end = (at + len).min(text.len());
        text.replace_range(at..end, &insert);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "f.ts", &text);
        if let Err(e) = read_table(&path, None, None) {
            let m = e.to_string();
            prop_assert!(m.lines().all(|l| l.contains("f.ts") || l.starts_with("… and ")), "{}", m);
        }
    }
}

/// `examples/fuzz.rs ts` starts from `fuzz/corpus/ts/` and saves crashes to `fuzz/crashes/ts/`;
/// every such input gives a result or an error, and the corpus seeds are valid files.
#[test]
fn fuzz_corpus_and_crashes_replay_without_panic() {
    let root = repo().join("fuzz");
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = 0;
    for sub in ["corpus", "crashes"] {
        let Ok(entries) = std::fs::read_dir(root.join(sub).join("ts")) else { continue };
        for entry in entries.flatten() {
            let path = dir.path().join("x.ts");
            std::fs::copy(entry.path(), &path).unwrap();
            let result = ts::read(&path).and_then(|d| {
                d.to_table(MissingPolicy::Interpolate, LengthPolicy::Resample, TargetLength::Exactly(16))
            });
            if sub == "corpus" {
                result.unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
                seeds += 1;
            }
        }
    }
    assert!(seeds >= 3, "the ts corpus is there ({seeds} files)");
}

#[test]
fn a_target_length_out_of_bounds_is_refused_before_allocating() {
    let path = aeon("GunPoint_TRAIN.ts.gz");
    for target in [0, ts::MAX_SERIES_LENGTH + 1, usize::MAX] {
        let m = read(&path)
            .to_table(MissingPolicy::Error, LengthPolicy::Pad, TargetLength::Exactly(target))
            .unwrap_err()
            .to_string();
        assert!(m.contains("GunPoint_TRAIN.ts.gz") && m.contains("outside 1..="), "{target}: {m}");
    }
    // 270 cases × 12 channels × MAX_SERIES_LENGTH values is more than a table may hold.
    let m = read(&aeon("JapaneseVowels_TRAIN.ts.gz"))
        .to_table(MissingPolicy::Error, LengthPolicy::Pad, TargetLength::Exactly(ts::MAX_SERIES_LENGTH))
        .unwrap_err()
        .to_string();
    assert!(m.contains("3240000000 values, more than the supported 500000000"), "{m}");
}
