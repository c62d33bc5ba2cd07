"""The one error family the CLI turns into a one-line message and exit status 3 (UNKNOWN)."""


class IpauditError(Exception):
    """A problem with the user's input or environment, worded for the user.

    ``hint`` is an optional second sentence telling the user what to do.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message}: {self.hint}"
        return " ".join(text.split())


class SpecError(IpauditError):
    """An address spec (IP, range, CIDR, list) that cannot be parsed."""


class ManifestError(IpauditError):
    """A pool manifest (MetalLB, Cilium, kube-vip) that cannot be read."""
