package PVE::AccessControl;

# Test double of pve-access-control's PVE::AccessControl: ticket helpers only.

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
