//! The table model the synthetic camera draws: a 7-ft pool table (playing area between the
//! cushion noses 1.9812 × 0.9906 m), six pockets, the standard ball set and its colours, and
//! the view that maps table metres to pixels.
//!
//! Table coordinates: metres, origin at the playing area's top-left corner as seen by the
//! camera, `x` along the long side (right), `y` along the short side (down in the image).
//! Pixel coordinates: the centre of pixel column `i` is `x = i` (as `blob_detection`).

/// Playing area length (x), metres.
pub const TABLE_LENGTH: f64 = 1.9812;
/// Playing area width (y), metres.
pub const TABLE_WIDTH: f64 = 0.9906;
/// Ball radius, metres (2.25 in diameter).
pub const BALL_RADIUS: f64 = 0.028_575;
/// Cushion width from the nose to the rail, metres.
pub const CUSHION: f64 = 0.0508;
/// Wooden rail width, metres.
pub const RAIL: f64 = 0.10;
/// Half-width of a corner pocket's opening measured along each rail from the corner, metres.
pub const CORNER_JAW: f64 = 0.091;
/// Half-width of a side pocket's opening along its rail, metres.
pub const SIDE_JAW: f64 = 0.0755;
/// Radius of the drawn pocket holes, metres (side pockets are 0.0645: drawn alike).
pub const POCKET_RADIUS: f64 = 0.062;
/// Number of balls: the cue ball (0) and the object balls 1–15.
pub const BALLS: usize = 16;

/// Corner pocket centre offset outside each rail line, metres (the physics table's).
const CP: f64 = 0.029_486_352_775_479_032;

/// Pocket centres in table metres (those of `framebus_billiards::Table::seven_foot`):
/// top-left, top-middle, top-right, bottom-left, bottom-middle, bottom-right.
pub const POCKETS: [[f64; 2]; 6] = [
    [-CP, -CP],
    [TABLE_LENGTH / 2.0, -0.0685],
    [TABLE_LENGTH + CP, -CP],
    [-CP, TABLE_WIDTH + CP],
    [TABLE_LENGTH / 2.0, TABLE_WIDTH + 0.0685],
    [TABLE_LENGTH + CP, TABLE_WIDTH + CP],
];

/// Standard ball colours (albedo, sRGB) indexed by number 0–15: 0 cue (white), 1 yellow,
/// 2 blue, 3 red, 4 purple, 5 orange, 6 green, 7 maroon, 8 black; 9–15 repeat 1–7 as stripes.
pub const BALL_COLORS: [[u8; 3]; 16] = [
    [245, 244, 236],
    [240, 195, 25],
    [25, 60, 180],
    [205, 30, 30],
    [95, 40, 140],
    [245, 115, 25],
    [20, 125, 50],
    [125, 28, 38],
    [22, 22, 24],
    [240, 195, 25],
    [25, 60, 180],
    [205, 30, 30],
    [95, 40, 140],
    [245, 115, 25],
    [20, 125, 50],
    [125, 28, 38],
];

/// Felt colour at the centre of the table under nominal light.
pub const FELT: [u8; 3] = [30, 112, 120];

/// True for the striped balls 9–15.
pub fn is_stripe(number: usize) -> bool {
    (9..=15).contains(&number)
}

/// Maps table metres to pixels for a frame size: the table with its rails fills the frame,
/// centred, with a small margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Pixels per metre.
    pub scale: f64,
    /// Pixel x of the table origin (top-left playing-area corner).
    pub ox: f64,
    /// Pixel y of the table origin.
    pub oy: f64,
}

impl View {
    /// The view for a `width` × `height` frame.
    pub fn new(width: u32, height: u32) -> Self {
        let border = CUSHION + RAIL;
        let (tw, th) = (TABLE_LENGTH + 2.0 * border, TABLE_WIDTH + 2.0 * border);
        let scale = (0.97 * f64::from(width) / tw).min(0.97 * f64::from(height) / th);
        let ox = (f64::from(width) - 1.0) / 2.0 - scale * TABLE_LENGTH / 2.0;
        let oy = (f64::from(height) - 1.0) / 2.0 - scale * TABLE_WIDTH / 2.0;
        Self { scale, ox, oy }
    }

    /// Pixel position of a point in table metres.
    pub fn to_px(&self, m: [f64; 2]) -> [f64; 2] {
        [self.ox + self.scale * m[0], self.oy + self.scale * m[1]]
    }

    /// Table metres of a pixel position.
    pub fn to_m(&self, px: [f64; 2]) -> [f64; 2] {
        [
            (px[0] - self.ox) / self.scale,
            (px[1] - self.oy) / self.scale,
        ]
    }

    /// The ball radius in pixels.
    pub fn ball_radius_px(&self) -> f64 {
        BALL_RADIUS * self.scale
    }

    /// The playing area's corners in pixels: top-left, top-right, bottom-right, bottom-left.
    pub fn corners_px(&self) -> [[f64; 2]; 4] {
        [
            self.to_px([0.0, 0.0]),
            self.to_px([TABLE_LENGTH, 0.0]),
            self.to_px([TABLE_LENGTH, TABLE_WIDTH]),
            self.to_px([0.0, TABLE_WIDTH]),
        ]
    }
}
