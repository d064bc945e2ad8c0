//! The Sobol' low-discrepancy sequence, unscrambled, as SciPy's `qmc.Sobol(d, scramble=False)`
//! computes it: Joe & Kuo's direction numbers (`new-joe-kuo-6.21201`, the file SciPy ships),
//! 30 bits, points in Gray-code order with the origin at index 0. Point `n` is a pure function of
//! `n` (no state, no seed), so a prefix of the sequence never changes when more points are asked
//! for. Bounded to [`MAX_DIMS`] dimensions (the table below, written by
//! `tests/fixtures/sobol_reference.py --directions`).

/// Dimensions the direction table covers.
pub(crate) const MAX_DIMS: usize = 64;
/// Bits per coordinate (SciPy's default): points are multiples of 2^-30.
pub(crate) const BITS: u32 = 30;
/// Points the sequence has at this precision (indices 0 .. 2^30).
pub(crate) const MAX_POINTS: u64 = 1 << BITS;

/// Per dimension: the primitive polynomial (its bits, leading and constant term included; its
/// degree is `floor(log2)`), and the initial direction numbers m_1..m_degree.
#[rustfmt::skip]
const DIRECTIONS: [(u32, [u32; 9]); MAX_DIMS] = [
    (1, [1, 0, 0, 0, 0, 0, 0, 0, 0]),
    (3, [1, 0, 0, 0, 0, 0, 0, 0, 0]),
    (7, [1, 3, 0, 0, 0, 0, 0, 0, 0]),
    (11, [1, 3, 1, 0, 0, 0, 0, 0, 0]),
    (13, [1, 1, 1, 0, 0, 0, 0, 0, 0]),
    (19, [1, 1, 3, 3, 0, 0, 0, 0, 0]),
    (25, [1, 3, 5, 13, 0, 0, 0, 0, 0]),
    (37, [1, 1, 5, 5, 17, 0, 0, 0, 0]),
    (41, [1, 1, 5, 5, 5, 0, 0, 0, 0]),
    (47, [1, 1, 7, 11, 19, 0, 0, 0, 0]),
    (55, [1, 1, 5, 1, 1, 0, 0, 0, 0]),
    (59, [1, 1, 1, 3, 11, 0, 0, 0, 0]),
    (61, [1, 3, 5, 5, 31, 0, 0, 0, 0]),
    (67, [1, 3, 3, 9, 7, 49, 0, 0, 0]),
    (91, [1, 1, 1, 15, 21, 21, 0, 0, 0]),
    (97, [1, 3, 1, 13, 27, 49, 0, 0, 0]),
    (103, [1, 1, 1, 15, 7, 5, 0, 0, 0]),
    (109, [1, 3, 1, 15, 13, 25, 0, 0, 0]),
    (115, [1, 1, 5, 5, 19, 61, 0, 0, 0]),
    (131, [1, 3, 7, 11, 23, 15, 103, 0, 0]),
    (137, [1, 3, 7, 13, 13, 15, 69, 0, 0]),
    (143, [1, 1, 3, 13, 7, 35, 63, 0, 0]),
    (145, [1, 3, 5, 9, 1, 25, 53, 0, 0]),
    (157, [1, 3, 1, 13, 9, 35, 107, 0, 0]),
    (167, [1, 3, 1, 5, 27, 61, 31, 0, 0]),
    (171, [1, 1, 5, 11, 19, 41, 61, 0, 0]),
    (185, [1, 3, 5, 3, 3, 13, 69, 0, 0]),
    (191, [1, 1, 7, 13, 1, 19, 1, 0, 0]),
    (193, [1, 3, 7, 5, 13, 19, 59, 0, 0]),
    (203, [1, 1, 3, 9, 25, 29, 41, 0, 0]),
    (211, [1, 3, 5, 13, 23, 1, 55, 0, 0]),
    (213, [1, 3, 7, 3, 13, 59, 17, 0, 0]),
    (229, [1, 3, 1, 3, 5, 53, 69, 0, 0]),
    (239, [1, 1, 5, 5, 23, 33, 13, 0, 0]),
    (241, [1, 1, 7, 7, 1, 61, 123, 0, 0]),
    (247, [1, 1, 7, 9, 13, 61, 49, 0, 0]),
    (253, [1, 3, 3, 5, 3, 55, 33, 0, 0]),
    (285, [1, 3, 1, 15, 31, 13, 49, 245, 0]),
    (299, [1, 3, 5, 15, 31, 59, 63, 97, 0]),
    (301, [1, 3, 1, 11, 11, 11, 77, 249, 0]),
    (333, [1, 3, 1, 11, 27, 43, 71, 9, 0]),
    (351, [1, 1, 7, 15, 21, 11, 81, 45, 0]),
    (355, [1, 3, 7, 3, 25, 31, 65, 79, 0]),
    (357, [1, 3, 1, 1, 19, 11, 3, 205, 0]),
    (361, [1, 1, 5, 9, 19, 21, 29, 157, 0]),
    (369, [1, 3, 7, 11, 1, 33, 89, 185, 0]),
    (391, [1, 3, 3, 3, 15, 9, 79, 71, 0]),
    (397, [1, 3, 7, 11, 15, 39, 119, 27, 0]),
    (425, [1, 1, 3, 1, 11, 31, 97, 225, 0]),
    (451, [1, 1, 1, 3, 23, 43, 57, 177, 0]),
    (463, [1, 3, 7, 7, 17, 17, 37, 71, 0]),
    (487, [1, 3, 1, 5, 27, 63, 123, 213, 0]),
    (501, [1, 1, 3, 5, 11, 43, 53, 133, 0]),
    (529, [1, 3, 5, 5, 29, 17, 47, 173, 479]),
    (539, [1, 3, 3, 11, 3, 1, 109, 9, 69]),
    (545, [1, 1, 1, 5, 17, 39, 23, 5, 343]),
    (557, [1, 3, 1, 5, 25, 15, 31, 103, 499]),
    (563, [1, 1, 1, 11, 11, 17, 63, 105, 183]),
    (601, [1, 1, 5, 11, 9, 29, 97, 231, 363]),
    (607, [1, 1, 5, 15, 19, 45, 41, 7, 383]),
    (617, [1, 3, 7, 7, 31, 19, 83, 137, 221]),
    (623, [1, 1, 1, 3, 23, 15, 111, 223, 83]),
    (631, [1, 1, 5, 13, 31, 15, 55, 25, 161]),
    (637, [1, 1, 3, 13, 25, 47, 39, 87, 257]),
];

/// The direction integers v[d][j] (column j scaled by 2^(BITS-1-j)), as SciPy's
/// `_initialize_v` (Bratley & Fox's recurrence).
fn directions(dim: usize) -> [u32; BITS as usize] {
    let bits = BITS as usize;
    let mut v = [0u32; BITS as usize];
    if dim == 0 {
        v = [1; BITS as usize];
    } else {
        let (poly, init) = DIRECTIONS[dim];
        let degree = (31 - poly.leading_zeros()) as usize;
        v[..degree].copy_from_slice(&init[..degree]);
        for j in degree..bits {
            let mut next = v[j - degree];
            let mut pow2 = 1u32;
            for k in 0..degree {
                pow2 <<= 1;
                if (poly >> (degree - 1 - k)) & 1 == 1 {
                    next ^= pow2 * v[j - k - 1];
                }
            }
            v[j] = next;
        }
    }
    for (j, x) in v.iter_mut().enumerate() {
        *x <<= bits - 1 - j;
    }
    v
}

/// The `dims`-dimensional sequence: its direction numbers, computed once for many points.
pub(crate) struct Sequence {
    directions: Vec<[u32; BITS as usize]>,
}

impl Sequence {
    pub fn new(dims: usize) -> Self {
        assert!(dims <= MAX_DIMS, "Sobol' sequence of {dims} dimensions: the table has {MAX_DIMS}");
        Sequence { directions: (0..dims).map(directions).collect() }
    }

    /// Point `index` as integers (coordinate × 2^30): the XOR of the direction numbers of the
    /// bits set in the Gray code of `index`.
    pub fn point_bits(&self, index: u64) -> Vec<u32> {
        assert!(index < MAX_POINTS, "Sobol' point {index} is past the 2^30 points of 30 bits");
        let gray = index ^ (index >> 1);
        let bits: Vec<usize> = (0..BITS as usize).filter(|&j| (gray >> j) & 1 == 1).collect();
        self.directions.iter().map(|v| bits.iter().fold(0, |acc, &j| acc ^ v[j])).collect()
    }

    /// Point `index` in [0, 1)^dims.
    pub fn point(&self, index: u64) -> Vec<f64> {
        self.point_bits(index).into_iter().map(|x| f64::from(x) / f64::from(1u32 << BITS)).collect()
    }
}

/// Point `index` of the `dims`-dimensional sequence as integers (coordinate × 2^30).
pub fn point_bits(index: u64, dims: usize) -> Vec<u32> {
    Sequence::new(dims).point_bits(index)
}

/// Point `index` of the `dims`-dimensional sequence in [0, 1)^dims.
pub fn point(index: u64, dims: usize) -> Vec<f64> {
    Sequence::new(dims).point(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SciPy 1.17.1, `tests/fixtures/sobol_reference.py`:
    /// `qmc.Sobol(5, scramble=False).random(9)`
    const FIRST_FIVE_DIMS: [[f64; 5]; 9] = [
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [0.5, 0.5, 0.5, 0.5, 0.5],
        [0.75, 0.25, 0.25, 0.25, 0.75],
        [0.25, 0.75, 0.75, 0.75, 0.25],
        [0.375, 0.375, 0.625, 0.875, 0.375],
        [0.875, 0.875, 0.125, 0.375, 0.875],
        [0.625, 0.125, 0.875, 0.625, 0.625],
        [0.125, 0.625, 0.375, 0.125, 0.125],
        [0.1875, 0.3125, 0.9375, 0.4375, 0.5625],
    ];

    #[test]
    fn the_first_points_are_scipys() {
        for (i, want) in FIRST_FIVE_DIMS.iter().enumerate() {
            assert_eq!(point(i as u64, 5), want.to_vec(), "point {i}");
        }
    }

    /// SciPy 1.17.1, `tests/fixtures/sobol_reference.py`:
    /// `wide = qmc.Sobol(64, scramble=False).random(1024)`, rows 100 and 1023 as
    /// `int(round(x * 2**30))`: every dimension of the table, and bits up to the tenth.
    #[rustfmt::skip]
    const WIDE: [(u64, [u32; 64]); 2] = [
        (100, [444596224, 276824064, 830472192, 780140544, 947912704, 796917760, 25165824, 511705088, 679477248, 746586112, 494927872, 729808896, 511705088, 914358272, 343932928, 528482304, 729808896, 796917760, 897581056, 360710144, 813694976, 427819008, 8388608, 528482304, 25165824, 8388608, 1015021568, 713031680, 260046848, 780140544, 763363328, 444596224, 276824064, 276824064, 394264576, 713031680, 1048576000, 511705088, 964689920, 142606336, 763363328, 713031680, 444596224, 528482304, 276824064, 645922816, 293601280, 763363328, 780140544, 713031680, 947912704, 864026624, 75497472, 897581056, 411041792, 830472192, 92274688, 293601280, 444596224, 176160768, 528482304, 25165824, 494927872, 696254464]),
        (1023, [1048576, 808452096, 657457152, 156237824, 200278016, 470810624, 149946368, 663748608, 370147328, 913309696, 728760320, 38797312, 139460608, 714080256, 389021696, 498073600, 336592896, 940572672, 628097024, 342884352, 930086912, 19922944, 852492288, 210763776, 256901120, 403701760, 546308096, 816840704, 902823936, 466616320, 997195776, 659554304, 485490688, 938475520, 357564416, 927989760, 1011875840, 1060110336, 967835648, 749731840, 678428672, 1045430272, 997195776, 116391936, 533725184, 334495744, 1037041664, 818937856, 904921088, 883949568, 277872640, 185597952, 707788800, 437256192, 974127104, 118489088, 856686592, 923795456, 781189120, 378535936, 110100480, 210763776, 848297984, 42991616]),
    ];

    #[test]
    fn every_dimension_of_the_table_is_scipys() {
        for (index, want) in WIDE {
            assert_eq!(point_bits(index, MAX_DIMS), want.to_vec(), "point {index}");
        }
    }

    #[test]
    fn each_dyadic_interval_of_the_first_two_to_the_m_points_holds_one_point() {
        // The defining (0, m, 1)-net property of every coordinate: 2^m points, 2^m strata.
        let points: Vec<Vec<f64>> = (0..64).map(|i| point(i, MAX_DIMS)).collect();
        for d in 0..MAX_DIMS {
            let mut strata: Vec<usize> = points.iter().map(|p| (p[d] * 64.0) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..64).collect::<Vec<_>>(), "dimension {d}");
        }
    }
}
