"""Who may see what: the one access policy asked by the API, the rep pages, the charts,
attribution and campaigns.

Roles: ``rep`` sees the accounts whose rep_id is theirs; ``manager`` the accounts of their region;
``marketing`` and ``admin`` all accounts; only ``marketing`` and ``admin`` plan campaigns. Figures
(revenue, funnels, attribution) follow the same scope: a manager's figures of any rep are that
rep's figures in the manager's region. What lies outside a caller's scope is answered exactly like
what does not exist (:class:`~serving.errors.NotFoundError`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from serving.auth import Principal
from serving.directory import AccountDirectory
from serving.errors import NotFoundError

#: Roles that see every account and plan campaigns.
PLANNERS = ("marketing", "admin")


@dataclass(frozen=True)
class Access:
    """The scope of one caller."""

    principal: Principal

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def sees_all(self) -> bool:
        """Whether the caller sees every account (marketing, admin)."""
        return self.role in PLANNERS

    @property
    def may_plan_campaigns(self) -> bool:
        return self.role in PLANNERS

    @property
    def may_see_model_health(self) -> bool:
        """Whether the caller may read the served model's monitoring checks (admin, manager)."""
        return self.role in ("admin", "manager")

    @property
    def region(self) -> str | None:
        """The one region a manager's figures are cut to (None for every other role)."""
        return self.principal.region if self.role == "manager" else None

    @property
    def figures_key(self) -> tuple[str, ...]:
        """What distinguishes the caller's figures (:meth:`order_lines`) in caches."""
        return ("region", str(self.principal.region)) if self.role == "manager" else ("all",)

    # Accounts -----------------------------------------------------------------------------------

    def account_mask(self, directory: AccountDirectory, positions: np.ndarray) -> np.ndarray:
        """Which of the accounts at ``positions`` the caller may see."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.role == "rep":
            rep = self.principal.rep_id
            return directory.rep_id[positions] == rep if rep else np.zeros(len(positions), dtype=bool)
        if self.role == "manager":
            region = self.principal.region
            return directory.region[positions] == region if region else np.zeros(len(positions), dtype=bool)
        return np.ones(len(positions), dtype=bool)

    def visible_positions(self, directory: AccountDirectory) -> np.ndarray:
        """Positions of every account the caller may see."""
        positions = np.arange(len(directory.accounts))
        return positions[self.account_mask(directory, positions)]

    def account(self, directory: AccountDirectory, account_id: str) -> int:
        """Position of an account the caller may see; NotFoundError for unknown and foreign ones alike."""
        pos = directory.position(account_id)
        if pos < 0 or not self.account_mask(directory, np.array([pos]))[0]:
            raise NotFoundError(f"account {account_id!r} not found")
        return pos

    # Reps and regions ---------------------------------------------------------------------------

    def rep_accounts(self, directory: AccountDirectory, rep_id: str) -> np.ndarray:
        """Positions of the rep's accounts the caller may see; NotFoundError when the caller may
        not see the rep at all (a rep asking for their own empty list gets an empty answer)."""
        own = self.role == "rep" and self.principal.rep_id == rep_id
        if self.role == "rep" and not own:
            raise NotFoundError(f"rep {rep_id!r} not found")
        positions = directory.rep_accounts(rep_id)
        positions = positions[self.account_mask(directory, positions)]
        if not len(positions) and not own:
            raise NotFoundError(f"rep {rep_id!r} not found")
        return positions

    def may_see_rep(self, directory: AccountDirectory, rep_id: str) -> bool:
        """Whether the caller may see figures of ``rep_id``: a rep their own; a manager the reps
        with accounts in their region or listed there; marketing and admin every known rep."""
        if self.role == "rep":
            return bool(rep_id) and rep_id == self.principal.rep_id
        owned = directory.rep_accounts(rep_id)
        if not len(owned) and rep_id not in directory.rep_names and rep_id not in directory.rep_regions:
            return False
        if self.role == "manager":
            return bool(self.account_mask(directory, owned).any()) \
                or directory.rep_regions.get(rep_id) == self.principal.region
        return True

    def may_see_region(self, directory: AccountDirectory, region: str) -> bool:
        """Whether the caller may see figures of ``region``: a rep their own region's, a manager
        their region's, marketing and admin every region's."""
        if self.role == "rep":
            return directory.rep_region(self.principal.rep_id or "") == region
        if self.role == "manager":
            return region == self.principal.region
        return region in set(directory.region)

    # Figures ------------------------------------------------------------------------------------

    def order_lines(self, lines: pd.DataFrame) -> pd.DataFrame:
        """The attributed order lines whose figures the caller may see beside the accounts: a
        manager's are those of their region; a rep sees their own figures and their region's
        averages and totals, so rep, marketing and admin read every line."""
        if self.role != "manager":
            return lines
        in_region = (lines["region"].astype("str") == (self.principal.region or "")).to_numpy(
            dtype=bool, na_value=False)
        return lines.loc[in_region]

    def figures_mask(self, directory: AccountDirectory, positions: np.ndarray) -> np.ndarray:
        """Which accounts at ``positions`` count in the caller's figures (the accounts behind
        :meth:`order_lines`): a manager's region's; every account for the other roles."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.role != "manager":
            return np.ones(len(positions), dtype=bool)
        return directory.region[positions] == self.principal.region
