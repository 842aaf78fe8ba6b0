//! Enums that travel on the KMS wire under their AWS names.
//!
//! One macro so that every such enum gets the same `as_str`, `Display`,
//! `FromStr` and `ALL`, and a name can never be spelled two ways.

/// Defines a `Copy` enum whose variants map one-to-one onto AWS names.
macro_rules! aws_names {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $aws:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The AWS wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $aws, )+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::CryptoError;

            /// Exact, case-sensitive match on the AWS name, as KMS does.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $aws => Ok($name::$variant), )+
                    _ => Err($crate::CryptoError::UnknownName {
                        kind: stringify!($name),
                        name: s.to_owned(),
                    }),
                }
            }
        }
    };
}

pub(crate) use aws_names;
