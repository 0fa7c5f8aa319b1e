//! The core's one error type. Each variant carries the context a user needs to find the cause
//! (argument, column, symbol, timestamp); the bindings turn it into the matching `ml4t.errors` class.

use thiserror::Error;

/// Where an error happened: all optional, all named in the Python exception's message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub argument: Option<String>,
    pub column: Option<String>,
    pub symbol: Option<String>,
    /// int64 nanoseconds UTC of the first offending record.
    pub ts: Option<i64>,
}

impl Context {
    pub fn argument(name: &str) -> Self {
        Self {
            argument: Some(name.to_owned()),
            ..Self::default()
        }
    }

    pub fn at(mut self, ts: i64) -> Self {
        self.ts = Some(ts);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// Input data is malformed (maps to `ml4t.DataError`).
    #[error("{message}")]
    Data { message: String, context: Context },
    /// A setting or argument is invalid (maps to `ml4t.ConfigError`).
    #[error("{message}")]
    Config { message: String, context: Context },
    /// Information would reach a consumer before it arrived (maps to `ml4t.LeakageError`).
    #[error("{message}")]
    Leakage { message: String, context: Context },
    /// An order request is invalid (maps to `ml4t.OrderError`): the strategy's bug, not a market rejection.
    #[error("{message}")]
    Order { message: String, context: Context },
    /// The caller cancelled the work (a sweep's `Progress::cancel`; maps to `KeyboardInterrupt`: the user's
    /// Ctrl-C, relayed by the Python side).
    #[error("cancelled")]
    Cancelled,
}

/// The context of an error that has none.
const NO_CONTEXT: Context = Context {
    argument: None,
    column: None,
    symbol: None,
    ts: None,
};

impl CoreError {
    pub fn data(message: impl Into<String>, context: Context) -> Self {
        Self::Data {
            message: message.into(),
            context,
        }
    }

    pub fn config(message: impl Into<String>, context: Context) -> Self {
        Self::Config {
            message: message.into(),
            context,
        }
    }

    pub fn leakage(message: impl Into<String>, context: Context) -> Self {
        Self::Leakage {
            message: message.into(),
            context,
        }
    }

    pub fn order(message: impl Into<String>, context: Context) -> Self {
        Self::Order {
            message: message.into(),
            context,
        }
    }

    pub fn context(&self) -> &Context {
        match self {
            Self::Data { context, .. }
            | Self::Config { context, .. }
            | Self::Leakage { context, .. }
            | Self::Order { context, .. } => context,
            Self::Cancelled => &NO_CONTEXT,
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
