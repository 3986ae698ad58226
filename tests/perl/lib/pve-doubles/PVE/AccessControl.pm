package PVE::AccessControl;

# Test double of pve-access-control's PVE::AccessControl (src/PVE/AccessControl.pm): ticket
# helpers only (assemble_ticket, assemble_csrf_prevention_token).

use strict;
use warnings;

sub assemble_ticket {
    my ($username) = @_;
    return "PVE:$username:TESTTICKET";
}

sub assemble_csrf_prevention_token {
    my ($username) = @_;
    return "TESTCSRF:$username";
}

1;
